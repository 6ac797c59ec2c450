// SPDX-License-Identifier: GPL-2.0
/*
 * Minimal TAP producer.
 */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tap.h"

static pthread_mutex_t tap_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int tap_count;
static unsigned int tap_failed;
static bool tap_planned;

void tap_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void tap_plan(unsigned int n)
{
	pthread_mutex_lock(&tap_lock);
	printf("1..%u\n", n);
	tap_planned = true;
	pthread_mutex_unlock(&tap_lock);
}

static bool tap_vreport(bool cond, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&tap_lock);
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %u - ", cond ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&tap_lock);
	return cond;
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vreport(cond, fmt, ap);
	va_end(ap);
	return cond;
}

bool tap_is(uint64_t got, uint64_t want, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vreport(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		tap_diag("  got %llu (0x%llx), want %llu (0x%llx)",
			 (unsigned long long)got, (unsigned long long)got,
			 (unsigned long long)want, (unsigned long long)want);
	return got == want;
}

bool tap_errno(int ret, int want_errno, const char *fmt, ...)
{
	bool cond = ret == -want_errno;
	va_list ap;

	va_start(ap, fmt);
	tap_vreport(cond, fmt, ap);
	va_end(ap);
	if (!cond)
		tap_diag("  got %d (%s), want -%d (%s)", ret,
			 ret < 0 ? strerror(-ret) : "success", want_errno,
			 strerror(want_errno));
	return cond;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&tap_lock);
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&tap_lock);
}

unsigned int tap_failures(void)
{
	unsigned int n;

	pthread_mutex_lock(&tap_lock);
	n = tap_failed;
	pthread_mutex_unlock(&tap_lock);
	return n;
}

int tap_done(void)
{
	pthread_mutex_lock(&tap_lock);
	if (!tap_planned)
		printf("1..%u\n", tap_count);
	if (tap_failed)
		printf("# %u of %u failed\n", tap_failed, tap_count);
	fflush(stdout);
	pthread_mutex_unlock(&tap_lock);
	return tap_failed ? 1 : 0;
}

static void tap_watchdog_fire(int sig)
{
	static const char msg[] = "not ok - watchdog: test timed out\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

void tap_watchdog(unsigned int seconds)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tap_watchdog_fire;
	sigaction(SIGALRM, &sa, NULL);
	alarm(seconds);
}
