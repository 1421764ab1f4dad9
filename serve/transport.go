package serve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// This file holds what the server adds to fasthttp at the connection's
// level: JSON answers to requests it cannot read, and a graceful close
// after answering a request whose large body was left unread.

// protocolError answers a request fasthttp could not read: a malformed
// request line or header block, a header over the read buffer, a broken
// chunked body, a read timeout. The answer never quotes the request,
// whose headers may carry credentials.
func (s *Server) protocolError(ctx *fasthttp.RequestCtx, err error) {
	code, msg := http.StatusBadRequest, "malformed HTTP request"
	var ne net.Error
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		code, msg = http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body is over the limit of %d bytes", s.cfg.MaxBodyBytes)
	case errors.As(err, &small):
		code, msg = http.StatusRequestHeaderFieldsTooLarge,
			fmt.Sprintf("request line and headers over %d bytes", readBufferBytes)
	case errors.As(err, &ne) && ne.Timeout():
		code, msg = http.StatusRequestTimeout, "timed out reading the request"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "malformed HTTP request: the connection closed mid-request"
	}
	s.log.Debug("request unreadable", "status", code, "error", msg)
	writeError(ctx, code, msg)
	s.metrics.count(view(ctx.Method()), code)
}

// largeUnread reports whether the request's body, which no handler read,
// is more than fasthttp drains to keep the connection. A chunked body's
// size is not known before it is read, so up to that much of it is read
// and dropped here.
func largeUnread(ctx *fasthttp.RequestCtx) bool {
	switch n := ctx.Request.Header.ContentLength(); {
	case n > drainBytes:
		return true
	case n != -1:
		return false
	}
	body := ctx.RequestBodyStream()
	if body == nil {
		return false
	}
	n, err := io.CopyN(io.Discard, body, drainBytes+1)
	return n > drainBytes || err != io.EOF
}

// drainBytes is the most of a body left unread that fasthttp reads and
// discards to keep the connection; beyond, it closes the connection once
// the answer is written.
const drainBytes = 256 << 10

// lingerTime is how long linger waits for the client after an answer to a
// request whose body was left unread.
const lingerTime = 500 * time.Millisecond

// bodyRead is the key of the request's user value that says its body was
// read whole.
type bodyRead struct{}

// linger closes the connection gracefully after the answer to a request
// whose large body was left unread (an answer before or instead of reading
// it: 413, 415, 404, 503). Closed at once, the connection would meet the
// client's body still arriving with a reset, which can discard the answer
// before the client reads it; so the connection is taken over: the answer
// is written with Connection: close, the server ends its side, reads and
// drops what still comes for a while, then closes.
func linger(ctx *fasthttp.RequestCtx) {
	resp := new(fasthttp.Response) // the handler must not keep ctx's
	ctx.Response.CopyTo(resp)
	resp.SetConnectionClose()
	resp.SkipBody = ctx.IsHead()
	raw := ctx.Conn()
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		_ = c.SetWriteDeadline(time.Now().Add(lingerTime))
		w := bufio.NewWriter(c)
		if resp.Write(w) != nil || w.Flush() != nil {
			return
		}
		if cw, ok := raw.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		_ = c.SetReadDeadline(time.Now().Add(lingerTime))
		_, _ = io.Copy(io.Discard, c)
	})
}
