/* SPDX-License-Identifier: MIT */
/*
 * import.c - import and export: users as JSON lines, one object a line
 * (userapictl(8), IMPORT FORMAT).
 *
 * An import is all or nothing: every line is read, checked and its
 * plaintext password hashed before the store is opened, and the records
 * are then added by one store_user_import, which adds all or none; the
 * first bad line stops it with "NAME:LINE: reason" and nothing is
 * written.  An email taken or given twice is found by the store, and only
 * then looked for line by line, to name the first such line.  A line goes
 * from JSON to its fields (ctl_import_fields), then from fields to a
 * record (ctl_import_record).  Export walks the store's users, so that
 * export | import moves users from any store to any other.
 *
 * A plaintext password read from a file is wiped from the line and from
 * json-c's copy once hashed.  Export is the one command that prints
 * password hashes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "auth.h"
#include "ctl.h"

#define CTL_LINE_MAX        65536   /* bytes per import line */

/* The records of an import and the lines they came from. */
struct ctl_batch {
    struct userdb_user  *users;
    size_t              *lines;
    size_t               n;
    size_t               cap;
};

/* One line's values, pointing into its parsed JSON object. */
struct ctl_fields {
    const char  *email;
    const char  *role;
    const char  *password;
    const char  *hash;
    const char  *created;
    size_t       email_len;     /* json-c's lengths: a "\u0000" counts */
    size_t       password_len;
};

/* The keys of a line, and what messages call them. */
static const struct ctl_key {
    const char  *key;
    size_t       offset;        /* in struct ctl_fields */
    const char  *words;
} ctl_keys[] = {
    { "email",          offsetof(struct ctl_fields, email),    "the email" },
    { "role",           offsetof(struct ctl_fields, role),     "the role" },
    { "password",       offsetof(struct ctl_fields, password), "the password" },
    { "password_hash",  offsetof(struct ctl_fields, hash),
      "the password hash" },
    { "created_at",     offsetof(struct ctl_fields, created),
      "the creation time" },
};

static struct json_object *ctl_import_json(struct json_tokener *, char *,
                size_t, char *, size_t);
static int  ctl_import_fields(struct json_object *, struct ctl_fields *,
                char *, size_t);
static int  ctl_import_record(const struct ctl *, const struct ctl_fields *,
                int64_t, struct userdb_user *, char *, size_t);
static int  ctl_import_line(const struct ctl *, struct json_tokener *,
                char *, size_t, int64_t, struct userdb_user *, char *,
                size_t);
static int  ctl_batch_grow(struct ctl_batch *);
static int  ctl_import_read(const struct ctl *, FILE *, const char *,
                struct ctl_batch *);
static int  ctl_import_cmp(const void *, const void *, void *);
static int  ctl_import_check(struct ctl *, const char *,
                const struct ctl_batch *);
static int  ctl_import_write(struct ctl *, const char *,
                const struct ctl_batch *);
static void ctl_batch_free(struct ctl_batch *);

/* ---- a line: JSON to fields, fields to a record ------------------------- */

/* The one JSON object on line (len bytes, NUL-terminated), or NULL with
 * why. */
static struct json_object *
ctl_import_json(struct json_tokener *tok, char *line, size_t len, char *why,
    size_t whylen)
{
    struct json_object     *o;
    enum json_tokener_error je;
    size_t                  i;

    json_tokener_reset(tok);
    /* With its NUL, which tells json-c the input ends (a number would
     * otherwise wait for more digits). */
    if ((o = json_tokener_parse_ex(tok, line, (int)len + 1)) == NULL) {
        je = json_tokener_get_error(tok);
        snprintf(why, whylen, "bad JSON: %s", je == json_tokener_continue ?
            "the object is not complete" : json_tokener_error_desc(je));
        return NULL;
    }
    for (i = json_tokener_get_parse_end(tok); i < len &&
        strchr(" \t\r", line[i]) != NULL; i++)
        ;
    if (i < len)
        snprintf(why, whylen, "text after the JSON object");
    else if (!json_object_is_type(o, json_type_object))
        snprintf(why, whylen, "not a JSON object");
    else
        return o;
    json_object_put(o);
    return NULL;
}

/*
 * The keys of object o into f, every one known and a string.  0, or -1
 * with why.  f points into o, and f->password is set as soon as it is
 * found, for the caller to wipe whatever follows.
 */
static int
ctl_import_fields(struct json_object *o, struct ctl_fields *f, char *why,
    size_t whylen)
{
    const char **slot;
    const char  *s;
    size_t       i;

    json_object_object_foreach(o, key, val) {
        for (i = 0; i < sizeof(ctl_keys) / sizeof(ctl_keys[0]) &&
            strcmp(key, ctl_keys[i].key) != 0; i++)
            ;
        if (i == sizeof(ctl_keys) / sizeof(ctl_keys[0])) {
            /* Named when it can be shown as it is. */
            for (s = key; *s != '\0' && isprint((unsigned char)*s) &&
                *s != '"'; s++)
                ;
            if (*s == '\0' && s - key <= 40)
                snprintf(why, whylen, "unknown key \"%s\"", key);
            else
                snprintf(why, whylen, "unknown key");
            return -1;
        }
        if (!json_object_is_type(val, json_type_string)) {
            snprintf(why, whylen, "%s must be a string", ctl_keys[i].words);
            return -1;
        }
        slot = (const char **)((char *)f + ctl_keys[i].offset);
        *slot = json_object_get_string(val);
        if (slot == &f->password)
            f->password_len = (size_t)json_object_get_string_len(val);
        if (slot == &f->email)
            f->email_len = (size_t)json_object_get_string_len(val);
    }
    return 0;
}

/* The record of f into u, its password hashed; now is the creation time
 * when f has none.  0, or -1 with why. */
static int
ctl_import_record(const struct ctl *c, const struct ctl_fields *f,
    int64_t now, struct userdb_user *u, char *why, size_t whylen)
{
    const char *bad = NULL;

    u->role = USERDB_ROLE_USER;
    u->created_at = now;
    if (f->email == NULL)
        bad = "the email is missing";
    /* strlen stops at a NUL written as \u0000. */
    else if (strlen(f->email) != f->email_len ||
        ctl_email(f->email, u->email) == -1)
        bad = "the email is not a valid address";
    else if (f->role != NULL && (u->role = ctl_role(f->role)) == 0)
        bad = "the role must be \"admin\" or \"user\"";
    else if (f->created != NULL &&
        userdb_parse_time(f->created, &u->created_at) == -1)
        bad = "the creation time must be YYYY-MM-DDTHH:MM:SSZ (UTC, 1970 "
            "to 9999)";
    else if (f->password == NULL && f->hash == NULL)
        bad = "a password or a password hash is needed";
    else if (f->password != NULL && f->hash != NULL)
        bad = "give a password or a password hash, not both";
    else if (f->hash != NULL && !auth_hash_valid(f->hash))
        bad = "the password hash is not a complete crypt hash of a "
            "supported method (yescrypt, gost-yescrypt, scrypt, bcrypt, "
            "sha512crypt)";
    if (bad != NULL) {
        snprintf(why, whylen, "%s", bad);
        return -1;
    }
    if (f->hash != NULL) {
        snprintf(u->hash, sizeof(u->hash), "%s", f->hash);
        return 0;
    }
    if (ctl_password_ok(c, f->password, f->password_len, why, whylen) == -1)
        return -1;
    if (auth_hash_password(f->password, (unsigned long)c->cfg.password_cost,
        u->hash, sizeof(u->hash)) == -1) {
        snprintf(why, whylen, "cannot hash the password: %s",
            strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * One import line (len bytes, NUL-terminated) into u.  0; 1 for a blank
 * line; -1 with why.  A plaintext password is wiped from the parsed
 * object before it is freed.
 */
static int
ctl_import_line(const struct ctl *c, struct json_tokener *tok, char *line,
    size_t len, int64_t now, struct userdb_user *u, char *why, size_t whylen)
{
    struct json_object *o;
    struct ctl_fields   f;
    size_t              i;
    int                 rc;

    for (i = 0; i < len && strchr(" \t\r", line[i]) != NULL; i++)
        ;
    if (i == len)
        return 1;
    if ((o = ctl_import_json(tok, line, len, why, whylen)) == NULL)
        return -1;
    memset(&f, 0, sizeof(f));
    rc = ctl_import_fields(o, &f, why, whylen);
    if (rc == 0)
        rc = ctl_import_record(c, &f, now, u, why, whylen);
    /* json-c's copy is plain heap memory of ours to wipe. */
    if (f.password != NULL)
        explicit_bzero((char *)f.password, f.password_len);
    json_object_put(o);
    return rc;
}

/* ---- import ------------------------------------------------------------- */

/* Room for one more record in b.  0 or -1. */
static int
ctl_batch_grow(struct ctl_batch *b)
{
    size_t  ncap;
    void   *p;

    if (b->n < b->cap)
        return 0;
    ncap = b->cap ? b->cap * 2 : 1024;
    if ((p = reallocarray(b->users, ncap, sizeof(*b->users))) == NULL)
        return -1;
    b->users = p;
    if ((p = reallocarray(b->lines, ncap, sizeof(*b->lines))) == NULL)
        return -1;
    b->lines = p;
    b->cap = ncap;
    return 0;
}

/* Reads every line of fp into b; stops at the first bad one with
 * "NAME:LINE: reason".  0 or an exit status. */
static int
ctl_import_read(const struct ctl *c, FILE *fp, const char *name,
    struct ctl_batch *b)
{
    struct json_tokener *tok;
    char                *line = NULL, why[CTL_WHY_LEN];
    size_t               cap = 0, lineno = 0;
    ssize_t              len;
    int64_t              now = (int64_t)time(NULL);
    int                  r, rc = 0;

    if ((tok = json_tokener_new()) == NULL)
        return ctl_err("out of memory");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    while (rc == 0 && (len = getline(&line, &cap, fp)) != -1) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if ((size_t)len > CTL_LINE_MAX) {
            rc = ctl_err("%s:%zu: line longer than %d bytes", name, lineno,
                CTL_LINE_MAX);
            break;
        }
        if (ctl_batch_grow(b) == -1) {
            rc = ctl_err("out of memory");
            break;
        }
        memset(&b->users[b->n], 0, sizeof(b->users[b->n]));
        r = ctl_import_line(c, tok, line, (size_t)len, now, &b->users[b->n],
            why, sizeof(why));
        explicit_bzero(line, (size_t)len);
        if (r == -1)
            rc = ctl_err("%s:%zu: %s", name, lineno, why);
        else if (r == 0)
            b->lines[b->n++] = lineno;
    }
    if (rc == 0 && ferror(fp))
        rc = ctl_err("%s: %s", name, strerror(errno));
    if (line != NULL)
        explicit_bzero(line, cap);
    free(line);
    json_tokener_free(tok);
    return rc;
}

/* Orders record numbers by email, then by number. */
static int
ctl_import_cmp(const void *a, const void *b, void *arg)
{
    const struct userdb_user *u = arg;
    size_t                    i = *(const size_t *)a, j = *(const size_t *)b;
    int                       d = strcmp(u[i].email, u[j].email);

    if (d != 0)
        return d;
    return i < j ? -1 : i > j;
}

/*
 * Names the first line whose email comes twice in the file or is in the
 * store already, so the error is "NAME:LINE" rather than what the store
 * would say.  0 when there is none, or an exit status.
 */
static int
ctl_import_check(struct ctl *c, const char *name, const struct ctl_batch *b)
{
    size_t  *order, *first, i;
    int      rc = 0, r;

    if (b->n == 0)
        return 0;
    order = calloc(b->n, sizeof(*order));
    first = calloc(b->n, sizeof(*first));
    if (order == NULL || first == NULL) {
        free(order);
        free(first);
        return ctl_err("out of memory");
    }
    for (i = 0; i < b->n; i++)
        order[i] = i;
    qsort_r(order, b->n, sizeof(*order), ctl_import_cmp, b->users);
    /* first[r] is the earlier record with r's email, or r itself. */
    for (i = 0; i < b->n; i++)
        first[order[i]] = i > 0 && strcmp(b->users[order[i]].email,
            b->users[order[i - 1]].email) == 0 ?
            first[order[i - 1]] : order[i];
    for (i = 0; i < b->n; i++) {
        if (first[i] != i) {
            rc = ctl_err("%s:%zu: %s is on line %zu already", name,
                b->lines[i], b->users[i].email, b->lines[first[i]]);
            break;
        }
        if ((r = store_user_find(c->store, b->users[i].email, NULL)) == 0) {
            ctl_err("%s:%zu: a user %s exists already", name, b->lines[i],
                b->users[i].email);
            rc = CTL_EXIT_EXISTS;
            break;
        }
        if (r == -1) {
            rc = ctl_store_err(c);
            break;
        }
    }
    free(order);
    free(first);
    return rc;
}

static void
ctl_batch_free(struct ctl_batch *b)
{
    if (b->users != NULL)
        explicit_bzero(b->users, b->cap * sizeof(*b->users));
    free(b->users);
    free(b->lines);
    memset(b, 0, sizeof(*b));
}

/* Adds b's records to the store, all or none.  0 or an exit status. */
static int
ctl_import_write(struct ctl *c, const char *name, const struct ctl_batch *b)
{
    char err[STORE_ERR_LEN];
    int  rc;

    err[0] = '\0';
    rc = store_user_import(c->store, b->users, b->n, err, sizeof(err));
    if (rc == 0) {
        printf("imported %s\n", ctl_plural((long)b->n, "user"));
        return 0;
    }
    if (rc == STORE_EXISTS) {
        /* Which line: one twice in the file, or one the store has; when
         * none is found now, the email was freed again meanwhile. */
        if ((rc = ctl_import_check(c, name, b)) != 0)
            return rc;
        rc = CTL_EXIT_EXISTS;
    } else {
        rc = EXIT_RUNTIME;
    }
    if (err[0] == '\0')
        snprintf(err, sizeof(err), "%s", store_errmsg(c->store));
    ctl_err("%s: %s", name, err);
    return rc;
}

int
ctl_import(struct ctl *c, const struct ctl_args *a)
{
    struct ctl_batch  b;
    const char       *file = a->argv[0];
    const char       *name = strcmp(file, "-") == 0 ? "stdin" : file;
    FILE             *fp;
    int               rc;

    memset(&b, 0, sizeof(b));
    /* Read and hashed before the store is opened: nothing is written
     * unless every line is good. */
    if (strcmp(file, "-") == 0)
        fp = stdin;
    else if ((fp = fopen(file, "re")) == NULL)
        return ctl_err("%s: %s", file, strerror(errno));
    rc = ctl_import_read(c, fp, name, &b);
    if (fp != stdin)
        fclose(fp);
    if (rc == 0 && (rc = ctl_store_open(c, CTL_NEED_DB_CREATE)) == 0)
        rc = ctl_import_write(c, name, &b);
    ctl_batch_free(&b);
    return rc;
}

/* ---- export ------------------------------------------------------------- */

int
ctl_export(struct ctl *c, const struct ctl_args *a)
{
    (void)a;
    return ctl_json_users(c, CTL_JSON_HASH);
}
