/*
 * version.h - relocd's version, as both ends say it in HELLO and --version.
 */
#ifndef RELOCD_VERSION_H
#define RELOCD_VERSION_H

#define RELOCD_VERSION "0.1.0"

#endif
