package authorize

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// logRequest writes the request's line. Kiali is anonymous, so this line,
// naming the user, is the audit trail of the console. It holds the path
// and never the query, the headers or the token.
func (h *handler) logRequest(r *http.Request, user string, status int, d time.Duration) {
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
		slog.String("user", user),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", d),
	)
}

// recorder notes the status of a response for the log.
type recorder struct {
	http.ResponseWriter
	code int
}

func (r *recorder) WriteHeader(code int) {
	// Informational answers (103 Early Hints) come before the final one.
	if r.code == 0 || r.code < 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Hijack hands the connection over for a protocol switch (a websocket):
// httputil.ReverseProxy writes the upstream's 101 on the connection itself.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(r.ResponseWriter).Hijack()
	if err == nil && (r.code == 0 || r.code < 200) {
		r.code = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Unwrap lets http.ResponseController reach the server's writer, to flush.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
