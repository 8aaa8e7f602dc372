/*
 * Functions Berth never calls: each has a bounded or thread-safe replacement
 * (snprintf, strlcpy-style util_strlcpy, strtok_r, gmtime_r, localtime_r).
 * Included by util.h, so by every file.
 */
#ifndef BERTH_BANNED_H
#define BERTH_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)

#endif
