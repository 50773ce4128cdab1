//go:build linux && cgo

package sqlite

/*
#include <stdlib.h> // defines __GLIBC__ on glibc
#ifdef __GLIBC__
#include <malloc.h>
#endif

// tune_malloc keeps glibc from handing freed memory back to the kernel after
// every SQLite transaction. cgo calls run on many OS threads, each with its
// own malloc arena, and trimming a thread's arena calls madvise, whose TLB
// shootdowns cost more than the SQL (measured: intake rate x2 in the bench).
static void tune_malloc(void) {
#ifdef __GLIBC__
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
#endif
}
*/
import "C"

func init() { C.tune_malloc() }
