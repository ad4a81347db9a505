package testbed

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The scraper reads what a real Prometheus client library serves, and Sum
// picks series by name and label fragments, not by name prefix.
func TestScrapeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	reconciles := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "controller_runtime_reconcile_total"}, []string{"controller", "result"})
	totals := prometheus.NewCounter(prometheus.CounterOpts{Name: "controller_runtime_reconcile_total_other"})
	reg.MustRegister(reconciles, totals)
	reconciles.WithLabelValues("kialiauthproxy", "success").Add(3)
	reconciles.WithLabelValues("kialiauthproxy", "error").Add(1)
	reconciles.WithLabelValues("other", "success").Add(5)
	totals.Add(100)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	m, err := ScrapeMetrics(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fragments []string
		want      float64
	}{
		{nil, 9},
		{[]string{`controller="kialiauthproxy"`}, 4},
		{[]string{`controller="kialiauthproxy"`, `result="success"`}, 3},
	} {
		if got := m.Sum("controller_runtime_reconcile_total", c.fragments...); got != c.want {
			t.Errorf("Sum(%v) = %v, want %v", c.fragments, got, c.want)
		}
	}
	reconciles.WithLabelValues("kialiauthproxy", "requeue")
	if m, err = ScrapeMetrics(srv.URL); err != nil {
		t.Fatal(err)
	}
	if got := m.Count("controller_runtime_reconcile_total", `controller="kialiauthproxy"`); got != 3 {
		t.Errorf("Count = %d, want 3 with the zero-valued series", got)
	}
	if got := m.Count("controller_runtime_reconcile_total", `controller="none"`); got != 0 {
		t.Errorf("Count of no series = %d", got)
	}
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	if _, err := ScrapeMetrics(missing.URL); err == nil {
		t.Error("a 404 scraped without an error")
	}
}
