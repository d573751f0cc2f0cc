/* etf_utf8.c — UTF-8 validation for atom text (decoder and encoder). */
#include "etf_internal.h"

long ergo_utf8_count(const uint8_t *s, size_t n)
{
    size_t i = 0;
    long chars = 0;
    while (i < n) {
        /* ASCII runs, 8 bytes at a time. */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            i += 8;
            chars += 8;
        }
        if (i >= n)
            break;
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
        } else if (c >= 0xC2 && c <= 0xDF) {
            /* two bytes: U+0080..U+07FF (0xC0/0xC1 would be overlong) */
            if (n - i < 2 || (s[i + 1] & 0xC0) != 0x80)
                return -1;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            /* three bytes: U+0800..U+FFFF without the surrogates */
            if (n - i < 3 || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
                return -1;
            if (c == 0xE0 && s[i + 1] < 0xA0)
                return -1; /* overlong */
            if (c == 0xED && s[i + 1] >= 0xA0)
                return -1; /* U+D800..U+DFFF */
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            /* four bytes: U+10000..U+10FFFF */
            if (n - i < 4 || (s[i + 1] & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
                (s[i + 3] & 0xC0) != 0x80)
                return -1;
            if (c == 0xF0 && s[i + 1] < 0x90)
                return -1; /* overlong */
            if (c == 0xF4 && s[i + 1] >= 0x90)
                return -1; /* above U+10FFFF */
            i += 4;
        } else {
            return -1; /* continuation byte first, 0xC0, 0xC1, 0xF5..0xFF */
        }
        chars++;
    }
    return chars;
}
