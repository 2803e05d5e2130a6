/*
 * clock.h - the one monotonic clock every timeout and rate is measured on,
 * and a sleep on it.  CLOCK_MONOTONIC: an admin setting the date must not
 * fire or stretch a migration's deadlines.
 */
#ifndef RELOCD_CLOCK_H
#define RELOCD_CLOCK_H

/* Milliseconds since an arbitrary point (boot); never goes back. */
long long clock_ms(void);
/* The same clock in seconds, to the nanosecond (rates, durations). */
double clock_s(void);

/* Sleeps ms milliseconds (less when a signal interrupts it). */
void clock_sleep_ms(long ms);

#endif
