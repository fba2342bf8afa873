/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The input rules of a deploy, as pure functions. Each returns 0 when the input is good, or
 * -EINVAL with *why (when why is not NULL) set to one sentence the caller frees, naming the
 * input and how to fix it. Unprintable bytes are shown escaped in the sentence. -ENOMEM when
 * the sentence cannot be made. None is ever given a password: messages quote what they check.
 */
enum gpv_guest_os {
	GPV_GUEST_LINUX,
	GPV_GUEST_WINDOWS,
};

/* Longest domain name accepted: libvirt has no limit of its own, but the name becomes file
 * names ("NAME.xml", "NAME.log", "NAME-swtpm.log") that must fit NAME_MAX (255). */
#define GPV_DOMAIN_NAME_MAX 200

/* Valid, NUL-terminated UTF-8 without overlong forms or surrogates. */
/* Sets *why (when why is not NULL) to the sentence, for the caller to free, and returns r;
 * -ENOMEM when the sentence cannot be made. The one way templates/ explains a refusal. */
int gpv_why(char **why, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

bool gpv_valid_utf8(const char *s);

/*
 * A libvirt domain name: not empty, at most GPV_DOMAIN_NAME_MAX bytes of UTF-8, no '/' (libvirt
 * refuses it), no control characters (libvirt refuses a newline; the others would corrupt
 * messages), not starting with '-' (read as an option by virsh) or '.' (hidden file, "..").
 */
int gpv_valid_domain_name(const char *name, char **why);

/* A Windows computer name (NetBIOS): 1 to 15 ASCII letters, digits or hyphens, not all digits,
 * neither starting nor ending with a hyphen. */
int gpv_valid_computer_name(const char *name, char **why);

/* A Linux host name: one RFC 1123 label, 1 to 63 ASCII letters, digits or hyphens, not all
 * digits, neither starting nor ending with a hyphen. */
int gpv_valid_hostname(const char *name, char **why);

/*
 * The guest's user name: ASCII letters and digits starting with a letter; for Windows at most
 * 20 (the SAM limit), for Linux at most 32 and lower case (Debian's adduser refuses upper
 * case). Not equal to name (the domain / computer name), ignoring case: Windows cannot log a
 * user on whose name is the computer's. Built-in accounts are refused, ignoring case:
 * Administrator, Guest, DefaultAccount, WDAGUtilityAccount, System on Windows; root and the
 * Debian system accounts (daemon, bin, sys, nobody, ...) on Linux. name may be NULL.
 */
int gpv_valid_user_name(const char *user, const char *name, enum gpv_guest_os os, char **why);

/*
 * A size as qemu-img writes it: a whole decimal number with an optional suffix K, M, G or T
 * (either case, binary: 1K = 1024), a bare number being bytes. "64G", "512M", "1T", "1024K".
 * Refused: empty, 0, a sign, spaces, fractions ("1.5G": write "1536M"), other suffixes
 * ("GB", "P"), and values past 2^64 - 1 bytes. what names the input in *why ("--memory").
 * On success *ret is the size in bytes.
 */
int gpv_parse_size(const char *what, const char *s, uint64_t *ret, char **why);

/*
 * Memory (bytes) and vCPUs asked for against the host's totals: at least 1 vCPU and 1 MiB;
 * at most the host's logical CPUs and its RAM. A host total of 0 (unknown) skips that check.
 */
int gpv_check_resources(
	uint64_t memory, unsigned vcpus, uint64_t host_memory, unsigned host_vcpus, char **why);
