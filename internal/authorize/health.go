package authorize

import "net/http"

// HealthPath is where the health listener answers.
const HealthPath = "/healthz"

// HealthHandler serves the kubelet's probes. It is on a listener of its
// own because the proxy's listener is bound to loopback, which the kubelet
// cannot reach, and must stay there: anything in the cluster reaching it
// would bypass oauth2-proxy's login. It says only that the process serves.
func HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
