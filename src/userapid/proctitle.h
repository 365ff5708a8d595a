/* SPDX-License-Identifier: MIT */
/*
 * proctitle.h - set the command line that ps(1) shows, so the master and
 * the workers can be told apart ("userapid: master", "userapid: worker").
 */
#ifndef USERAPID_PROCTITLE_H
#define USERAPID_PROCTITLE_H

/* Call once from main() before anything reads environ. */
void proctitle_init(int argc, char **argv);
void proctitle_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
