/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal TAP producer: "ok N - desc" / "not ok N - desc" / "# comment".
 * Safe to call from several threads.
 */
#ifndef KV_TAP_H
#define KV_TAP_H

#include <stdbool.h>
#include <stdint.h>

/* Line-buffer stdout; call first. */
void tap_init(void);
/* Print "1..n" up front (optional; tap_done() prints it otherwise). */
void tap_plan(unsigned int n);
/* Report one test point; returns @cond. */
bool tap_ok(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Report got == want, with both values on failure. */
bool tap_is(uint64_t got, uint64_t want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Report ret == -want_errno (ret as returned by the kvdev_* calls). */
bool tap_errno(int ret, int want_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Failures so far. */
unsigned int tap_failures(void);
/* Print the plan if needed; return the exit status (0 only if all passed). */
int tap_done(void);
/*
 * After @seconds, print "not ok - watchdog" and _exit(1): nothing may hang
 * a test forever.  0 cancels.
 */
void tap_watchdog(unsigned int seconds);

#endif /* KV_TAP_H */
