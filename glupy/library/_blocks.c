/* glupy.library._blocks: crypt's stored blocks sealed and opened a request at a time.
 *
 * A stored block is nonce (16) | AES-256-GCM ciphertext of up to 4096 bytes | tag (16),
 * with AAD = the caller's prefix (magic | version | file id) | block number (u64 big
 * endian).  OpenSSL's EVP does the AES-GCM; this file only loops over the blocks of one
 * request in C, with the GIL released: through cryptography's AESGCM, one Python call
 * per 4 KiB block cost more than the AES itself (bench/ANALYSIS.md).  crypt.py keeps
 * the format's rules (holes, sizes, errors); cryptography's AESGCM opens what this seals
 * and the reverse (tests/unit/test_crypt_blocks.py). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 4096
#define NONCE_LEN 16
#define TAG_LEN 16
#define OVERHEAD (NONCE_LEN + TAG_LEN)
#define STORED_BLOCK (BLOCK + OVERHEAD)
#define AAD_MAX 64

typedef struct {
    PyObject_HEAD
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    PyThread_type_lock lock;  /* the contexts are used with the GIL released */
} BlockCipher;

static EVP_CIPHER_CTX *
keyed_context(const unsigned char *key, int encrypt)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return NULL;
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, encrypt) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int
BlockCipher_init(BlockCipher *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"key", NULL};
    Py_buffer key;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*", kwlist, &key))
        return -1;
    if (key.len != 32) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_ValueError, "an AES-256 key is 32 bytes");
        return -1;
    }
    if (self->lock != NULL) {
        PyErr_SetString(PyExc_TypeError, "a BlockCipher is keyed once");
        PyBuffer_Release(&key);
        return -1;
    }
    self->lock = PyThread_allocate_lock();
    self->enc = keyed_context(key.buf, 1);
    self->dec = keyed_context(key.buf, 0);
    PyBuffer_Release(&key);
    if (self->lock == NULL || self->enc == NULL || self->dec == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL could not set up AES-256-GCM");
        return -1;
    }
    return 0;
}

static void
BlockCipher_dealloc(BlockCipher *self)
{
    EVP_CIPHER_CTX_free(self->enc);
    EVP_CIPHER_CTX_free(self->dec);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static void
put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

/* aad = prefix | number; returns its length, or -1 if the prefix is too long. */
static int
block_aad(unsigned char *aad, const Py_buffer *prefix, uint64_t number)
{
    if (prefix->len > AAD_MAX - 8)
        return -1;
    memcpy(aad, prefix->buf, prefix->len);
    put_be64(aad + prefix->len, number);
    return (int)prefix->len + 8;
}

static int
seal_one(EVP_CIPHER_CTX *ctx, const unsigned char *nonce, const unsigned char *aad,
         int aad_len, const unsigned char *plain, int len, unsigned char *out)
{
    int n;
    memcpy(out, nonce, NONCE_LEN);
    return EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) == 1 &&
           EVP_EncryptUpdate(ctx, NULL, &n, aad, aad_len) == 1 &&
           EVP_EncryptUpdate(ctx, out + NONCE_LEN, &n, plain, len) == 1 &&
           EVP_EncryptFinal_ex(ctx, out + NONCE_LEN + len, &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                               out + NONCE_LEN + len) == 1;
}

/* The blocks to seal: ``plain`` is one buffer (cut into 4096-byte blocks, the last
 * may be short) or a sequence of buffers of at most 4096 bytes each. */
typedef struct {
    Py_buffer whole;        /* the one buffer (whole.obj NULL: a sequence) */
    PyObject *seq;          /* the sequence (PySequence_Fast), or NULL */
    Py_buffer *views;       /* its items' buffers, ``held`` of them */
    Py_ssize_t count, held;
} Blocks;

static int
blocks_get(Blocks *b, PyObject *plain)
{
    if (PyObject_CheckBuffer(plain)) {
        if (PyObject_GetBuffer(plain, &b->whole, PyBUF_SIMPLE) != 0)
            return -1;
        b->count = (b->whole.len + BLOCK - 1) / BLOCK;
        return 0;
    }
    b->seq = PySequence_Fast(plain, "plain must be a buffer or a sequence of buffers");
    if (b->seq == NULL)
        return -1;
    b->count = PySequence_Fast_GET_SIZE(b->seq);
    b->views = PyMem_Calloc(b->count ? b->count : 1, sizeof(Py_buffer));
    if (b->views == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (; b->held < b->count; b->held++) {
        Py_buffer *v = &b->views[b->held];
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(b->seq, b->held), v, PyBUF_SIMPLE) != 0)
            return -1;
        if (v->len > BLOCK) {
            b->held++;
            PyErr_SetString(PyExc_ValueError, "a block holds at most 4096 bytes");
            return -1;
        }
    }
    return 0;
}

static const unsigned char *
blocks_at(const Blocks *b, Py_ssize_t i, int *len)
{
    if (b->seq == NULL) {
        Py_ssize_t left = b->whole.len - i * BLOCK;
        *len = (int)(left < BLOCK ? left : BLOCK);
        return (const unsigned char *)b->whole.buf + i * BLOCK;
    }
    *len = (int)b->views[i].len;
    return b->views[i].buf;
}

static void
blocks_release(Blocks *b)
{
    for (Py_ssize_t i = 0; i < b->held; i++)
        PyBuffer_Release(&b->views[i]);
    PyMem_Free(b->views);
    Py_XDECREF(b->seq);
    if (b->whole.obj != NULL)
        PyBuffer_Release(&b->whole);
}

PyDoc_STRVAR(seal_into_doc,
"seal_into(out, pos, nonces, aad_prefix, first, plain) -> int\n\n"
"Seal ``plain`` (one buffer, cut into 4096-byte blocks, or a sequence of buffers of\n"
"at most 4096 bytes each) as blocks ``first, first+1, ...`` into ``out`` from\n"
"``pos``, block i with nonce ``nonces[16*i:16*i+16]``, or with ``nonces`` None fresh\n"
"random ones (OpenSSL's RAND_bytes); returns the position after the last block.");

static PyObject *
BlockCipher_seal_into(BlockCipher *self, PyObject *args)
{
    Py_buffer out, prefix, given = {0};
    Py_ssize_t pos;
    unsigned long long first;
    PyObject *nonces_arg, *plain;
    if (!PyArg_ParseTuple(args, "w*nOy*KO", &out, &pos, &nonces_arg, &prefix, &first, &plain))
        return NULL;
    PyObject *result = NULL;
    Blocks blocks = {{0}};
    unsigned char *fresh = NULL;
    const unsigned char *nonces;
    if (blocks_get(&blocks, plain) < 0)
        goto done;
    Py_ssize_t count = blocks.count, end = pos;
    if (nonces_arg == Py_None) {
        fresh = PyMem_Malloc(count ? count * NONCE_LEN : 1);
        if (fresh == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        if (count && RAND_bytes(fresh, (int)(count * NONCE_LEN)) != 1) {
            PyErr_SetString(PyExc_RuntimeError, "OpenSSL RAND_bytes failed");
            goto done;
        }
        nonces = fresh;
    } else {
        if (PyObject_GetBuffer(nonces_arg, &given, PyBUF_SIMPLE) != 0)
            goto done;
        if (given.len != count * NONCE_LEN) {
            PyErr_SetString(PyExc_ValueError, "one 16-byte nonce per block");
            goto done;
        }
        nonces = given.buf;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        int len;
        blocks_at(&blocks, i, &len);
        end += len + OVERHEAD;
    }
    if (pos < 0 || end > out.len) {
        PyErr_SetString(PyExc_ValueError, "the sealed blocks do not fit in out");
        goto done;
    }
    unsigned char aad[AAD_MAX];
    int ok = 1, aad_len = 0;
    if (self->enc == NULL) {
        PyErr_SetString(PyExc_ValueError, "BlockCipher not keyed");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    unsigned char *w = (unsigned char *)out.buf + pos;
    for (Py_ssize_t i = 0; ok && i < count; i++) {
        int len;
        const unsigned char *p = blocks_at(&blocks, i, &len);
        aad_len = block_aad(aad, &prefix, first + i);
        ok = aad_len > 0 &&
             seal_one(self->enc, nonces + i * NONCE_LEN, aad, aad_len, p, len, w);
        w += len + OVERHEAD;
    }
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (!ok) {
        PyErr_SetString(aad_len < 0 ? PyExc_ValueError : PyExc_RuntimeError,
                        aad_len < 0 ? "aad_prefix too long" : "OpenSSL AES-GCM failed");
        goto done;
    }
    result = PyLong_FromSsize_t(end);
done:
    blocks_release(&blocks);
    PyMem_Free(fresh);
    if (given.obj != NULL)
        PyBuffer_Release(&given);
    PyBuffer_Release(&out);
    PyBuffer_Release(&prefix);
    return result;
}

static int
all_zero(const unsigned char *p, Py_ssize_t n)
{
    return n > 0 && p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

PyDoc_STRVAR(open_into_doc,
"open_into(stored, out, aad_prefix, first) -> (length, bad, kind)\n\n"
"Open the stored blocks of ``stored`` (the last may be short) as blocks ``first,\n"
"first+1, ...`` into ``out``; an all-zero stored block is a hole and gives zeros.\n"
"Returns the plaintext length and bad = -1, or stops at the first block that does\n"
"not open: bad = its position in ``stored`` (0, 1, ...), kind = 1 cut short, 2 not\n"
"authentic.");

static PyObject *
BlockCipher_open_into(BlockCipher *self, PyObject *args)
{
    Py_buffer stored, out, prefix;
    unsigned long long first;
    if (!PyArg_ParseTuple(args, "y*w*y*K", &stored, &out, &prefix, &first))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t blocks = (stored.len + STORED_BLOCK - 1) / STORED_BLOCK;
    if (out.len < blocks * BLOCK) {
        PyErr_SetString(PyExc_ValueError, "out is smaller than the blocks' plaintext");
        goto done;
    }
    if (self->dec == NULL) {
        PyErr_SetString(PyExc_ValueError, "BlockCipher not keyed");
        goto done;
    }
    unsigned char aad[AAD_MAX];
    Py_ssize_t length = 0, bad = -1;
    int kind = 0, failed = 0;
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    const unsigned char *s = stored.buf;
    unsigned char *o = out.buf;
    for (Py_ssize_t k = 0; k < blocks; k++) {
        Py_ssize_t blob = stored.len - k * STORED_BLOCK;
        if (blob > STORED_BLOCK)
            blob = STORED_BLOCK;
        const unsigned char *b = s + k * STORED_BLOCK;
        int n = (int)(blob - OVERHEAD), m;
        if (n <= 0) {
            bad = k, kind = 1;
            break;
        }
        if (all_zero(b, blob)) {
            memset(o + length, 0, n);
            length += n;
            continue;
        }
        int aad_len = block_aad(aad, &prefix, first + k);
        if (aad_len < 0) {
            failed = 1;
            break;
        }
        if (EVP_DecryptInit_ex(self->dec, NULL, NULL, NULL, b) != 1 ||
            EVP_DecryptUpdate(self->dec, NULL, &m, aad, aad_len) != 1 ||
            EVP_DecryptUpdate(self->dec, o + length, &m, b + NONCE_LEN, n) != 1 ||
            EVP_CIPHER_CTX_ctrl(self->dec, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                                (void *)(b + NONCE_LEN + n)) != 1 ||
            EVP_DecryptFinal_ex(self->dec, o + length + n, &m) != 1) {
            memset(o + length, 0, n);  /* never hand out unauthenticated plaintext */
            bad = k, kind = 2;
            break;
        }
        length += n;
    }
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (failed) {
        PyErr_SetString(PyExc_ValueError, "aad_prefix too long");
        goto done;
    }
    result = Py_BuildValue("nni", length, bad, kind);
done:
    PyBuffer_Release(&stored);
    PyBuffer_Release(&out);
    PyBuffer_Release(&prefix);
    return result;
}

static PyMethodDef BlockCipher_methods[] = {
    {"seal_into", (PyCFunction)BlockCipher_seal_into, METH_VARARGS, seal_into_doc},
    {"open_into", (PyCFunction)BlockCipher_open_into, METH_VARARGS, open_into_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject BlockCipherType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "glupy.library._blocks.BlockCipher",
    .tp_doc = PyDoc_STR("BlockCipher(key): AES-256-GCM over crypt's stored blocks"),
    .tp_basicsize = sizeof(BlockCipher),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)BlockCipher_init,
    .tp_dealloc = (destructor)BlockCipher_dealloc,
    .tp_methods = BlockCipher_methods,
};

static struct PyModuleDef blocks_module = {
    PyModuleDef_HEAD_INIT, "glupy.library._blocks",
    PyDoc_STR("crypt's stored blocks sealed and opened a request at a time (OpenSSL)"),
    -1, NULL,
};

PyMODINIT_FUNC
PyInit__blocks(void)
{
    if (PyType_Ready(&BlockCipherType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&blocks_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&BlockCipherType);
    if (PyModule_AddObject(m, "BlockCipher", (PyObject *)&BlockCipherType) < 0) {
        Py_DECREF(&BlockCipherType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
