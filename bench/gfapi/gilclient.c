/*
 * bench/gfapi/gilclient.c: one client of bench/gil.py, a gfapi process sending one kind
 * of fop to a brick as fast as it can for a fixed time.
 *
 *   gilclient VOLFILE LOGFILE OP SECONDS ID
 *
 * VOLFILE is a client graph (protocol/client to the brick).  After glfs_init and its
 * set-up (a 1 MiB file /gil-ID, opened for OP read4k) the program prints "ready" and
 * waits for a line on stdin, so that bench/gil.py starts every client at once; then it
 * runs OP for SECONDS:
 *
 *   stat     glfs_stat of /gil-ID
 *   read4k   glfs_pread of 4 KiB at a random 4 KiB-aligned offset of /gil-ID
 *
 * and prints one JSON object: {"ops": N, "seconds": wall, "cpu_s": this process's CPU}.
 *   gilclient VOLFILE LOGFILE status - -   prints getxattr("/", "glupy.status").
 * Ends with _exit() (glfs_fini can hang in 10.3).
 *
 * Build: cc -O2 -o gilclient gilclient.c -lgfapi
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glusterfs/api/glfs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE (1 << 20)
#define BLOCK 4096

static double now(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s VOLFILE LOGFILE OP SECONDS ID\n", argv[0]);
        return 2;
    }
    const char *vol = argv[1], *logfile = argv[2], *op = argv[3];
    double seconds = atof(argv[4]);
    char path[64];
    snprintf(path, sizeof(path), "/gil-%s", argv[5]);

    glfs_t *fs = glfs_new("gil");
    if (!fs || glfs_set_volfile(fs, vol) || glfs_set_logging(fs, logfile, 7) || glfs_init(fs)) {
        fprintf(stderr, "gfapi set-up failed: %s (see %s)\n", strerror(errno), logfile);
        _exit(1);
    }
    if (strcmp(op, "status") == 0) {
        static char value[1 << 20];
        ssize_t n = glfs_getxattr(fs, "/", "glupy.status", value, sizeof(value) - 1);
        if (n < 0) {
            fprintf(stderr, "getxattr glupy.status: %s\n", strerror(errno));
            _exit(1);
        }
        value[n] = '\0';
        printf("%s\n", value);
        fflush(stdout);
        _exit(0);
    }
    static char buf[BLOCK];
    memset(buf, 'g', sizeof(buf));
    glfs_fd_t *fd = glfs_creat(fs, path, O_RDWR | O_TRUNC, 0644);
    for (long off = 0; fd && off < FILE_SIZE; off += BLOCK)
        if (glfs_pwrite(fd, buf, BLOCK, off, 0, NULL, NULL) != BLOCK) {
            fprintf(stderr, "writing %s: %s\n", path, strerror(errno));
            _exit(1);
        }
    if (!fd) {
        fprintf(stderr, "creating %s: %s\n", path, strerror(errno));
        _exit(1);
    }
    int read4k = strcmp(op, "read4k") == 0;
    if (!read4k && strcmp(op, "stat") != 0) {
        fprintf(stderr, "unknown OP %s\n", op);
        _exit(2);
    }
    printf("ready\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof(line), stdin))
        _exit(1);

    unsigned seed = (unsigned)getpid();
    long ops = 0, failures = 0;
    struct stat st;
    double cpu0 = now(CLOCK_PROCESS_CPUTIME_ID), t0 = now(CLOCK_MONOTONIC), t = t0;
    while (t - t0 < seconds) {
        for (int i = 0; i < 64; i++) {
            if (read4k) {
                off_t off = (off_t)(rand_r(&seed) % (FILE_SIZE / BLOCK)) * BLOCK;
                failures += glfs_pread(fd, buf, BLOCK, off, 0, NULL) != BLOCK;
            } else {
                failures += glfs_stat(fs, path, &st) != 0;
            }
        }
        ops += 64;
        t = now(CLOCK_MONOTONIC);
    }
    printf("{\"ops\": %ld, \"failures\": %ld, \"seconds\": %.4f, \"cpu_s\": %.4f}\n", ops,
           failures, t - t0, now(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
    fflush(stdout);
    _exit(failures ? 1 : 0);
}
