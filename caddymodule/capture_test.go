package caddymodule

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flushRecorder counts flushes and ReadFrom calls of the inner writer.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes int
}

func (f *flushRecorder) Flush() { f.flushes++; f.ResponseRecorder.Flush() }

// WriteHeader passes informational statuses by, as a server does.
func (f *flushRecorder) WriteHeader(code int) {
	if code >= 100 && code < 200 {
		return
	}
	f.ResponseRecorder.WriteHeader(code)
}

// unwrapOnly hides everything but Unwrap, as Caddy's IdleTimeoutWriter does.
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

func TestCaptureStreamsAndKeepsACopy(t *testing.T) {
	inner := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	cw := newCaptureWriter(unwrapOnly{inner}, 64)
	cw.Header().Set("Content-Type", "application/json")
	cw.WriteHeader(http.StatusContinue) // informational: not the status
	cw.WriteHeader(http.StatusCreated)
	cw.WriteHeader(http.StatusOK) // later calls do not change the record
	_, err := cw.Write([]byte(`{"id":`))
	require.NoError(t, err)
	assert.Equal(t, `{"id":`, inner.Body.String(), "bytes reach the client before the answer ends")
	require.NoError(t, http.NewResponseController(cw).Flush())
	assert.Equal(t, 1, inner.flushes, "Flush reaches the inner writer through Unwrap")
	n, err := cw.ReadFrom(strings.NewReader(`5}`))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	assert.Equal(t, `{"id":5}`, inner.Body.String())
	assert.Equal(t, http.StatusCreated, cw.Status())
	assert.Equal(t, `{"id":5}`, string(cw.Body()), "ReadFrom is teed too")
	assert.Same(t, inner, cw.Unwrap().(unwrapOnly).ResponseWriter)
}

func TestCaptureImplicitStatusAndErrors(t *testing.T) {
	cw := newCaptureWriter(httptest.NewRecorder(), 64)
	_, _ = cw.Write([]byte(`{}`))
	assert.Equal(t, 200, cw.Status())
	assert.Equal(t, `{}`, string(cw.Body()))

	cw = newCaptureWriter(httptest.NewRecorder(), 64)
	cw.WriteHeader(400)
	_, _ = cw.Write([]byte(`{"code":"x"}`))
	assert.Nil(t, cw.Body(), "only 2xx answers are kept")
}

func TestCaptureCap(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 100)
	// Over the cap while streaming: the client gets everything, the copy is dropped.
	inner := httptest.NewRecorder()
	cw := newCaptureWriter(inner, 64)
	for i := 0; i < 10; i++ {
		_, _ = cw.Write(big[:10])
	}
	assert.Equal(t, 100, inner.Body.Len())
	assert.Nil(t, cw.Body())
	// A Content-Length over the cap is not kept at all.
	inner = httptest.NewRecorder()
	cw = newCaptureWriter(inner, 64)
	cw.Header().Set("Content-Length", strconv.Itoa(len(big)))
	cw.WriteHeader(200)
	_, _ = cw.ReadFrom(bytes.NewReader(big))
	assert.Equal(t, big, inner.Body.Bytes())
	assert.Nil(t, cw.Body())
	assert.Zero(t, cw.buf.Len())
}

func TestCaptureDecodesCompressedCopyOnly(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"id":7}`))
	require.NoError(t, zw.Close())

	inner := httptest.NewRecorder()
	cw := newCaptureWriter(inner, 1<<10)
	cw.Header().Set("Content-Encoding", "gzip")
	cw.WriteHeader(200)
	_, _ = cw.Write(gz.Bytes())
	assert.Equal(t, gz.Bytes(), inner.Body.Bytes(), "the client gets the compressed bytes")
	assert.Equal(t, `{"id":7}`, string(cw.Body()))

	// A decoded copy over the cap is not used (zip bombs).
	var bomb bytes.Buffer
	zw = gzip.NewWriter(&bomb)
	_, _ = zw.Write(bytes.Repeat([]byte(" "), 1<<16))
	require.NoError(t, zw.Close())
	cw = newCaptureWriter(httptest.NewRecorder(), 1<<10)
	cw.Header().Set("Content-Encoding", "gzip")
	_, _ = cw.Write(bomb.Bytes())
	assert.Nil(t, cw.Body())

	// br (no decoder here) and corrupt gzip: no copy, the resource is read.
	for _, enc := range []string{"br", "gzip"} {
		cw = newCaptureWriter(httptest.NewRecorder(), 1<<10)
		cw.Header().Set("Content-Encoding", enc)
		_, _ = cw.Write([]byte("not compressed"))
		assert.Nil(t, cw.Body(), enc)
	}
}

func TestCaptureReadFromWithoutCopy(t *testing.T) {
	inner := httptest.NewRecorder()
	cw := newCaptureWriter(inner, 64)
	cw.WriteHeader(500)
	n, err := io.Copy(cw, strings.NewReader("oops"))
	require.NoError(t, err)
	assert.Equal(t, int64(4), n)
	assert.Equal(t, "oops", inner.Body.String())
	assert.Nil(t, cw.Body())
}
