/* Threads that call getenv() in a loop without the GIL, as polars' I/O runtime does (tests/test_environ.py).
 * Built by the test with the system's C compiler; loaded by tests/helpers/environ_stress.py. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_long count;

static void *loop(void *unused) {
    static const char *names[] = {"AWS_PROFILE", "POLARS_LOG_CONCURRENCY", "AWS_ENDPOINT_URL_S3", "HOME"};
    (void)unused;
    for (;;) {
        for (int i = 0; i < 4; i++) {
            volatile char *value = getenv(names[i]);
            (void)value;
        }
        atomic_fetch_add_explicit(&count, 4, memory_order_relaxed);
    }
    return NULL;
}

int start_readers(int threads) {
    for (int i = 0; i < threads; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, loop, NULL) != 0) return -1;
        pthread_detach(thread);
    }
    return 0;
}

long reads(void) { return atomic_load(&count); }
