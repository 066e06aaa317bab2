/*
 * Replays a fuzz target's corpus and its regressions (inputs that once
 * crashed) as a cmocka test, so that `make test` keeps every one fixed.
 * The target is linked in; FUZZ_NAME names its folders under tests/fuzz.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STR2(x) #x
#define STR(x) STR2(x)

/* Feeds every file of dir to the target; returns how many it fed. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int fed = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        FILE *f;
        long size;
        uint8_t *data;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        size = ftell(f);
        assert_true(size >= 0);
        rewind(f);
        /* An exact-size heap copy, so ASan catches any read past the end. */
        data = malloc(size > 0 ? (size_t)size : 1);
        assert_non_null(data);
        assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        LLVMFuzzerTestOneInput(data, (size_t)size);
        free(data);
        fed++;
    }
    closedir(d);
    return fed;
}

static void test_corpus_and_regressions_replay_cleanly(void **state)
{
    int fed;
    (void)state;
    fed = replay_dir("tests/fuzz/corpus/" STR(FUZZ_NAME));
    fed += replay_dir("tests/fuzz/regressions/" STR(FUZZ_NAME));
    /* A replay that found no input would pass without testing anything. */
    assert_true(fed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_and_regressions_replay_cleanly),
    };
    return cmocka_run_group_tests_name(STR(FUZZ_NAME), tests, NULL, NULL);
}
