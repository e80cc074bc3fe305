/*
 * jsonread.c - see jsonread.h.
 */
#include "jsonread.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Reader: recursive descent over [s, end). Bounds come from end rather
 * than a NUL so a file holding a NUL byte is an error, not a short read.
 */
struct json_p {
	const char *s, *p, *end;
	int depth;
	char *err;
	size_t errlen;
};

/* Only the innermost failure reports; callers just pass NULL/0 upward. */
__attribute__((format(printf, 3, 4)))
static int json_fail(struct json_p *p, const char *at, const char *fmt, ...)
{
	size_t line = 1, col = 1;
	va_list ap;

	if (!p->err || !p->errlen)
		return 0;
	for (const char *c = p->s; c < at; c++) {
		col = *c == '\n' ? 1 : col + 1;
		line += *c == '\n';
	}
	int n = snprintf(p->err, p->errlen, "%zu:%zu: ", line, col);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

static void json_ws(struct json_p *p)
{
	while (p->p < p->end && (*p->p == ' ' || *p->p == '\t' || *p->p == '\r' || *p->p == '\n'))
		p->p++;
}

static int json_is(struct json_p *p, char c)
{
	return p->p < p->end && *p->p == c;
}

static int json_hex4(struct json_p *p, unsigned *cp)
{
	*cp = 0;
	for (int i = 0; i < 4; i++) {
		/* The closing quote is not a hex digit, so this stops inside the string. */
		char c = p->p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) :
			     c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16) {
			json_fail(p, p->p + i, "bad hex digit in \\u escape");
			return 0;
		}
		*cp = *cp << 4 | d;
	}
	p->p += 4;
	return 1;
}

static char *json_utf8(char *o, unsigned cp)
{
	int more = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
	static const unsigned char lead[] = { 0x00, 0xC0, 0xE0, 0xF0 };

	*o++ = (char)(lead[more] | cp >> 6 * more);
	while (more--)
		*o++ = (char)(0x80 | (cp >> 6 * more & 0x3F));
	return o;
}

/* p->p is at the opening quote. Unescaping only shrinks, so one allocation
 * the size of the raw text always suffices. */
static char *json_string(struct json_p *p)
{
	const char *start = p->p++, *q = p->p;

	while (q < p->end && *q != '"')
		q += *q == '\\' && q + 1 < p->end ? 2 : 1;
	if (q >= p->end) {
		json_fail(p, start, "unterminated string");
		return NULL;
	}
	char *out = malloc((size_t)(q - p->p) + 1), *o = out;
	if (!out) {
		json_fail(p, start, "out of memory");
		return NULL;
	}
	while (p->p < q) {
		unsigned char c = (unsigned char)*p->p;
		unsigned cp, lo;
		if (c < 0x20) {
			json_fail(p, p->p, "raw control character in string");
			goto bad;
		}
		p->p++;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		switch (c = (unsigned char)*p->p++) {
		case '"': case '\\': case '/': *o++ = (char)c; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (!json_hex4(p, &cp))
				goto bad;
			if (cp >= 0xD800 && cp < 0xDC00) {
				if (p->p + 1 >= q || p->p[0] != '\\' || p->p[1] != 'u') {
					json_fail(p, p->p, "high surrogate without a low one");
					goto bad;
				}
				p->p += 2;
				if (!json_hex4(p, &lo))
					goto bad;
				if (lo < 0xDC00 || lo >= 0xE000) {
					json_fail(p, p->p - 6, "bad low surrogate");
					goto bad;
				}
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				json_fail(p, p->p - 6, "low surrogate without a high one");
				goto bad;
			} else if (cp == 0) {
				/* It would silently cut a C string short. */
				json_fail(p, p->p - 6, "\\u0000 is not supported");
				goto bad;
			}
			o = json_utf8(o, cp);
			break;
		default:
			json_fail(p, p->p - 2, "bad escape");
			goto bad;
		}
	}
	p->p++;
	*o = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

static int json_number(struct json_p *p, struct json *j)
{
	const char *q = p->p, *e = p->end;
#define JSON_DIGIT(q) ((q) < e && *(q) >= '0' && *(q) <= '9')

	if (q < e && *q == '-')
		q++;
	if (!JSON_DIGIT(q))
		return json_fail(p, p->p, "expected a value");
	if (*q == '0')
		q++;            /* no leading zeros: "01" fails as trailing "1" */
	else
		while (JSON_DIGIT(q))
			q++;
	if (q < e && *q == '.') {
		q++;
		if (!JSON_DIGIT(q))
			return json_fail(p, q, "expected a digit after '.'");
		while (JSON_DIGIT(q))
			q++;
	}
	if (q < e && (*q == 'e' || *q == 'E')) {
		if (++q < e && (*q == '+' || *q == '-'))
			q++;
		if (!JSON_DIGIT(q))
			return json_fail(p, q, "expected a digit in exponent");
		while (JSON_DIGIT(q))
			q++;
	}
#undef JSON_DIGIT
	size_t n = (size_t)(q - p->p);
	if (!(j->str = malloc(n + 1)))
		return json_fail(p, p->p, "out of memory");
	memcpy(j->str, p->p, n);
	j->str[n] = '\0';
	j->num = strtod(j->str, NULL);
	j->type = JSON_NUM;
	p->p = q;
	return 1;
}

static struct json *json_value(struct json_p *p);

/* Children are linked as they parse, so on failure json_free(j) cleans up. */
static int json_container(struct json_p *p, struct json *j)
{
	int obj = *p->p == '{';
	char close = obj ? '}' : ']';
	struct json **tail = &j->child;

	j->type = obj ? JSON_OBJ : JSON_ARR;
	if (++p->depth > JSON_MAX_DEPTH)
		return json_fail(p, p->p, "nesting deeper than %d", JSON_MAX_DEPTH);
	p->p++;
	json_ws(p);
	if (json_is(p, close)) {
		p->p++;
		p->depth--;
		return 1;
	}
	for (;;) {
		char *key = NULL;
		if (obj) {
			json_ws(p);
			if (!json_is(p, '"'))
				return json_fail(p, p->p, "expected a string key");
			if (!(key = json_string(p)))
				return 0;
			json_ws(p);
			if (!json_is(p, ':')) {
				free(key);
				return json_fail(p, p->p, "expected ':'");
			}
			p->p++;
		}
		struct json *c = json_value(p);
		if (!c) {
			free(key);
			return 0;
		}
		c->key = key;
		*tail = c;
		tail = &c->next;
		j->len++;
		json_ws(p);
		if (json_is(p, ',')) {
			p->p++;
		} else if (json_is(p, close)) {
			p->p++;
			p->depth--;
			return 1;
		} else {
			return json_fail(p, p->p, p->p < p->end ? "expected ',' or '%c'" :
					   "unexpected end of input, expected ',' or '%c'", close);
		}
	}
}

static int json_lit(struct json_p *p, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(p->end - p->p) < n || memcmp(p->p, word, n) != 0)
		return json_fail(p, p->p, "expected a value");
	p->p += n;
	return 1;
}

static struct json *json_value(struct json_p *p)
{
	json_ws(p);
	if (p->p >= p->end) {
		json_fail(p, p->p, "unexpected end of input, expected a value");
		return NULL;
	}
	struct json *j = calloc(1, sizeof(*j));
	if (!j) {
		json_fail(p, p->p, "out of memory");
		return NULL;
	}
	int ok;
	switch (*p->p) {
	case '{': case '[':
		ok = json_container(p, j);
		break;
	case '"':
		j->type = JSON_STR;
		ok = (j->str = json_string(p)) != NULL;
		break;
	case 't': case 'f':
		j->type = JSON_BOOL;
		j->num = *p->p == 't';
		ok = json_lit(p, *p->p == 't' ? "true" : "false");
		break;
	case 'n':
		ok = json_lit(p, "null");
		break;
	default:
		ok = json_number(p, j);
	}
	if (!ok) {
		json_free(j);
		return NULL;
	}
	return j;
}

static struct json *json_parse_n(const char *text, size_t n, char *err, size_t errlen)
{
	struct json_p p = { text, text, text + n, 0, err, errlen };

	if (err && errlen)
		*err = '\0';
	struct json *j = json_value(&p);
	json_ws(&p);
	if (j && p.p < p.end) {
		json_fail(&p, p.p, "trailing garbage after the document");
		json_free(j);
		return NULL;
	}
	return j;
}

struct json *json_parse(const char *text, char *err, size_t errlen)
{
	return json_parse_n(text, strlen(text), err, errlen);
}

struct json *json_parse_file(const char *path, char *err, size_t errlen)
{
	char *buf = NULL, msg[256];
	const char *why = NULL;
	size_t n = 0, cap = 0, r;
	struct json *j = NULL;
	FILE *f = fopen(path, "rb");

	if (!f) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (cap - n < 2) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb = cap > SIZE_MAX / 4 ? NULL : realloc(buf, ncap);
			if (!nb) {
				why = "out of memory";
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		n += r = fread(buf + n, 1, cap - n - 1, f);
	} while (r > 0);
	if (ferror(f)) {
		why = strerror(errno);
		goto out;
	}
	buf[n] = '\0';
	/* Prefix the path so "compare a.json b.json" says which file is bad. */
	if (!(j = json_parse_n(buf, n, msg, sizeof msg)))
		why = msg;
out:
	if (why && err && errlen)
		snprintf(err, errlen, "%s:%s%s", path, why == msg ? "" : " ", why);
	free(buf);
	fclose(f);
	return j;
}

void json_free(struct json *j)
{
	while (j) {
		struct json *next = j->next;
		json_free(j->child);    /* recursion bounded by JSON_MAX_DEPTH */
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}

static const struct json *json_getn(const struct json *obj, const char *key, size_t n)
{
	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (const struct json *c = obj->child; c; c = c->next)
		if (strncmp(c->key, key, n) == 0 && c->key[n] == '\0')
			return c;
	return NULL;
}

const struct json *json_get(const struct json *obj, const char *key)
{
	return key ? json_getn(obj, key, strlen(key)) : NULL;
}

const struct json *json_at(const struct json *arr, size_t i)
{
	if (!arr || arr->type != JSON_ARR)
		return NULL;
	const struct json *c = arr->child;
	while (c && i--)
		c = c->next;
	return c;
}

const struct json *json_path(const struct json *j, const char *path)
{
	if (!path)
		return NULL;
	while (j && *path) {
		if (*path == '[') {
			char *e;
			if (path[1] < '0' || path[1] > '9')
				return NULL;
			errno = 0;
			unsigned long long i = strtoull(path + 1, &e, 10);
			if (*e != ']' || errno || i > SIZE_MAX)
				return NULL;
			j = json_at(j, (size_t)i);
			path = e + 1;
		} else {
			if (*path == '.')
				path++;
			size_t n = strcspn(path, ".[");
			if (n == 0)
				return NULL;
			j = json_getn(j, path, n);
			path += n;
		}
	}
	return j;
}

double json_num(const struct json *j, double dflt)
{
	return j && (j->type == JSON_NUM || j->type == JSON_BOOL) ? j->num : dflt;
}

uint64_t json_u64(const struct json *j, uint64_t dflt)
{
	if (!j || j->type != JSON_NUM)
		return dflt;
	if (j->str[strspn(j->str, "0123456789")] == '\0') {
		/* Digits only: strtoull keeps counters above 2^53 exact. */
		errno = 0;
		unsigned long long v = strtoull(j->str, NULL, 10);
		return errno ? dflt : (uint64_t)v;
	}
	/* "1e+06" (what jw_num writes for a million) still names an integer. */
	if (j->num >= 0 && j->num < 18446744073709551616.0 && j->num == (double)(uint64_t)j->num)
		return (uint64_t)j->num;
	return dflt;
}

const char *json_str(const struct json *j, const char *dflt)
{
	return j && j->type == JSON_STR ? j->str : dflt;
}

double json_path_num(const struct json *root, const char *path, double dflt)
{
	return json_num(json_path(root, path), dflt);
}

uint64_t json_path_u64(const struct json *root, const char *path, uint64_t dflt)
{
	return json_u64(json_path(root, path), dflt);
}

const char *json_path_str(const struct json *root, const char *path, const char *dflt)
{
	return json_str(json_path(root, path), dflt);
}
