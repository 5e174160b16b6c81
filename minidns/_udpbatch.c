/*
 * minidns._udpbatch: many UDP datagrams per system call (Linux recvmmsg(2) / sendmmsg(2)).
 *
 * Python's socket module moves one datagram per call, and at 100k+ queries per second the
 * per-datagram system call is what a cached DNS answer costs most. This module is optional:
 * minidns.udp falls back to recvfrom/sendto when it is not built.
 *
 *   Receiver(fd, count=64)   a receive batch with its own buffers, one per thread
 *   Receiver.receive()       blocks until a datagram arrives, then takes every waiting one
 *                            (up to `count`): a list of (payload bytes, address bytes).
 *                            An empty list: the socket was shut down.
 *   send(fd, datagrams)      sends a sequence of (payload bytes, address bytes) in as few calls
 *                            as it can; returns how many were sent.
 *
 * Addresses are the kernel's sockaddr (IPv4 or IPv6) as bytes, handed back to send() unread.
 * The GIL is released while the kernel works, so several threads can share one socket.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE
#include <Python.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_DATAGRAM 65535 /* a UDP payload cannot be larger: nothing is ever cut */
#define MAX_COUNT 1024

typedef struct {
    PyObject_HEAD
    int fd;
    unsigned int count;
    int busy; /* a receive() is under way: the buffers are the kernel's until it returns */
    struct mmsghdr *messages;
    struct iovec *vectors;
    struct sockaddr_storage *addresses;
    char *buffers; /* count * MAX_DATAGRAM bytes: only the pages the kernel writes are touched */
} Receiver;

static void Receiver_free_buffers(Receiver *self)
{
    PyMem_RawFree(self->messages);
    PyMem_RawFree(self->vectors);
    PyMem_RawFree(self->addresses);
    PyMem_RawFree(self->buffers);
    self->messages = NULL;
    self->vectors = NULL;
    self->addresses = NULL;
    self->buffers = NULL;
}

static int Receiver_init(Receiver *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"fd", "count", NULL};
    int fd;
    unsigned int count = 64;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "i|I", keywords, &fd, &count))
        return -1;
    if (count < 1 || count > MAX_COUNT) {
        PyErr_Format(PyExc_ValueError, "count must be 1 to %d", MAX_COUNT);
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Receiver in use");
        return -1;
    }
    Receiver_free_buffers(self);
    self->fd = fd;
    self->count = count;
    self->messages = PyMem_RawCalloc(count, sizeof(struct mmsghdr));
    self->vectors = PyMem_RawCalloc(count, sizeof(struct iovec));
    self->addresses = PyMem_RawCalloc(count, sizeof(struct sockaddr_storage));
    self->buffers = PyMem_RawMalloc((size_t)count * MAX_DATAGRAM);
    if (!self->messages || !self->vectors || !self->addresses || !self->buffers) {
        Receiver_free_buffers(self);
        PyErr_NoMemory();
        return -1;
    }
    for (unsigned int i = 0; i < count; i++) {
        self->vectors[i].iov_base = self->buffers + (size_t)i * MAX_DATAGRAM;
        self->vectors[i].iov_len = MAX_DATAGRAM;
    }
    return 0;
}

static void Receiver_dealloc(Receiver *self)
{
    Receiver_free_buffers(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The first `received` datagrams of the buffers as a list of (payload, address) bytes. */
static PyObject *Receiver_collect(Receiver *self, int received)
{
    PyObject *datagrams = PyList_New(0);
    if (datagrams == NULL)
        return NULL;
    for (int i = 0; i < received; i++) {
        struct msghdr *header = &self->messages[i].msg_hdr;
        if (header->msg_namelen == 0)
            continue; /* no sender: the wake-up of shutdown(), not a datagram */
        PyObject *datagram = Py_BuildValue(
            "(y#y#)", (char *)self->vectors[i].iov_base, (Py_ssize_t)self->messages[i].msg_len,
            (char *)header->msg_name, (Py_ssize_t)header->msg_namelen);
        if (datagram == NULL || PyList_Append(datagrams, datagram) < 0) {
            Py_XDECREF(datagram);
            Py_DECREF(datagrams);
            return NULL;
        }
        Py_DECREF(datagram);
    }
    return datagrams;
}

static PyObject *Receiver_receive(Receiver *self, PyObject *Py_UNUSED(ignored))
{
    if (self->messages == NULL) {
        PyErr_SetString(PyExc_ValueError, "Receiver not initialised");
        return NULL;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Receiver in use by another thread: one per thread");
        return NULL;
    }
    for (unsigned int i = 0; i < self->count; i++) {
        struct msghdr *header = &self->messages[i].msg_hdr;
        header->msg_name = &self->addresses[i];
        header->msg_namelen = sizeof(struct sockaddr_storage);
        header->msg_iov = &self->vectors[i];
        header->msg_iovlen = 1;
        header->msg_control = NULL;
        header->msg_controllen = 0;
        header->msg_flags = 0;
    }
    int received;
    self->busy = 1;
    do {
        Py_BEGIN_ALLOW_THREADS
        /* MSG_WAITFORONE: block for the first datagram, then take only what is already queued */
        received = recvmmsg(self->fd, self->messages, self->count, MSG_WAITFORONE, NULL);
        Py_END_ALLOW_THREADS
    } while (received < 0 && errno == EINTR && PyErr_CheckSignals() == 0);
    PyObject *datagrams = NULL;
    if (received < 0)
        datagrams = PyErr_Occurred() ? NULL : PyErr_SetFromErrno(PyExc_OSError);
    else
        datagrams = Receiver_collect(self, received);
    self->busy = 0; /* only now: making the bytes objects may run other threads (a GC) */
    return datagrams;
}

static PyMethodDef Receiver_methods[] = {
    {"receive", (PyCFunction)Receiver_receive, METH_NOARGS,
     "Wait for datagrams; a list of (payload, address), empty once the socket is shut down."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ReceiverType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "minidns._udpbatch.Receiver",
    .tp_doc = "Receiver(fd, count=64): receives up to count datagrams per system call.",
    .tp_basicsize = sizeof(Receiver),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Receiver_init,
    .tp_dealloc = (destructor)Receiver_dealloc,
    .tp_methods = Receiver_methods,
};

/* Fill one outgoing message from a (payload, address) pair; 0 on success. */
static int prepare(PyObject *pair, struct mmsghdr *message, struct iovec *vector)
{
    char *payload, *address;
    Py_ssize_t payload_length, address_length;
    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
        PyErr_SetString(PyExc_TypeError, "each datagram must be a (payload, address) tuple");
        return -1;
    }
    if (PyBytes_AsStringAndSize(PyTuple_GET_ITEM(pair, 0), &payload, &payload_length) < 0 ||
        PyBytes_AsStringAndSize(PyTuple_GET_ITEM(pair, 1), &address, &address_length) < 0)
        return -1;
    if (address_length > (Py_ssize_t)sizeof(struct sockaddr_storage)) {
        PyErr_SetString(PyExc_ValueError, "address too long to be a sockaddr");
        return -1;
    }
    vector->iov_base = payload;
    vector->iov_len = (size_t)payload_length;
    memset(&message->msg_hdr, 0, sizeof(message->msg_hdr));
    message->msg_hdr.msg_name = address;
    message->msg_hdr.msg_namelen = (socklen_t)address_length;
    message->msg_hdr.msg_iov = vector;
    message->msg_hdr.msg_iovlen = 1;
    return 0;
}

#define SEND_CHUNK 64

static PyObject *udpbatch_send(PyObject *Py_UNUSED(module), PyObject *args)
{
    int fd;
    PyObject *sequence;
    if (!PyArg_ParseTuple(args, "iO", &fd, &sequence))
        return NULL;
    /* A tuple of its own: the payloads stay referenced while the GIL is released. */
    PyObject *datagrams = PySequence_Tuple(sequence);
    if (datagrams == NULL)
        return NULL;
    Py_ssize_t total = PyTuple_GET_SIZE(datagrams), sent = 0;
    struct mmsghdr messages[SEND_CHUNK];
    struct iovec vectors[SEND_CHUNK];

    for (Py_ssize_t start = 0; start < total; start += SEND_CHUNK) {
        unsigned int chunk = (unsigned int)(total - start < SEND_CHUNK ? total - start : SEND_CHUNK);
        for (unsigned int i = 0; i < chunk; i++) {
            if (prepare(PyTuple_GET_ITEM(datagrams, start + i), &messages[i], &vectors[i]) < 0) {
                Py_DECREF(datagrams);
                return NULL;
            }
        }
        unsigned int done = 0;
        while (done < chunk) {
            int result;
            Py_BEGIN_ALLOW_THREADS
            result = sendmmsg(fd, messages + done, chunk - done, 0);
            Py_END_ALLOW_THREADS
            if (result > 0) {
                done += (unsigned int)result;
                sent += result;
            } else if (result < 0 && errno == EINTR) {
                continue;
            } else if (result < 0 && (errno == EBADF || errno == ENOTSOCK)) {
                Py_DECREF(datagrams);
                return PyErr_SetFromErrno(PyExc_OSError);
            } else {
                done++; /* this one datagram cannot go (an unreachable client): skip it */
            }
        }
    }
    Py_DECREF(datagrams);
    return PyLong_FromSsize_t(sent);
}

static PyMethodDef udpbatch_methods[] = {
    {"send", udpbatch_send, METH_VARARGS,
     "send(fd, datagrams): send (payload, address) pairs with sendmmsg; how many were sent."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef udpbatch_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "minidns._udpbatch",
    .m_doc = "Many UDP datagrams per system call: recvmmsg(2) and sendmmsg(2).",
    .m_size = -1,
    .m_methods = udpbatch_methods,
};

PyMODINIT_FUNC PyInit__udpbatch(void)
{
    if (PyType_Ready(&ReceiverType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&udpbatch_module);
    if (module == NULL)
        return NULL;
    Py_INCREF(&ReceiverType);
    if (PyModule_AddObject(module, "Receiver", (PyObject *)&ReceiverType) < 0) {
        Py_DECREF(&ReceiverType);
        Py_DECREF(module);
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "MAX_DATAGRAM", MAX_DATAGRAM) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
