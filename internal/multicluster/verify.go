package multicluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// queryTimeout bounds the query to the hub.
const queryTimeout = 10 * time.Second

// verifySettings returns the check's settings when it is on.
func verifySettings(d *meshv1alpha1.KialiAuthProxy) *meshv1alpha1.VerifySpec {
	m := d.Spec.Metrics
	if m == nil || m.Verify == nil || m.Verify.Enabled == nil || !*m.Verify.Enabled || m.Verify.QueryURL == "" {
		return nil
	}
	return m.Verify
}

// newestSampleQuery asks the hub for the timestamp of the newest sample of
// each cluster, among the metrics the clusters send.
func newestSampleQuery(keepRegex, label string, names []string) string {
	return fmt.Sprintf(`max by (%s) (timestamp({__name__=~%s, %s=~%s}))`,
		label, strconv.Quote(keepRegex), label, strconv.Quote(strings.Join(names, "|")))
}

// verify queries the hub for each wired cluster's newest sample and fills
// in MetricsFlowing and LastSampleAge. Ages are measured against the hub's
// own evaluation time, so the operator's clock does not matter.
func (r *Wirer) verify(ctx context.Context, d *meshv1alpha1.KialiAuthProxy, v *meshv1alpha1.VerifySpec, rep *Report) {
	rep.queryURL = v.QueryURL
	names := make([]string, 0, len(rep.statuses))
	for _, st := range rep.statuses {
		names = append(names, st.Name)
	}
	hc, token, err := r.queryClient(ctx, d, v)
	if err != nil {
		rep.verifyErr = err
		return
	}
	ages, err := queryNewestSamples(ctx, hc, v.QueryURL, token, newestSampleQuery(d.Spec.Metrics.KeepRegex, d.Spec.Metrics.ClusterLabel, names), d.Spec.Metrics.ClusterLabel)
	if err != nil {
		rep.verifyErr = err
		return
	}
	rep.verified = true
	if seen, err := meshClusterNames(ctx, hc, v.QueryURL, token, meshClusterQuery(d.Spec.Metrics.KeepRegex, v.MaxSampleAge.Duration)); err == nil {
		rep.meshClusters, rep.meshClustersRead = seen, true
	}
	for i := range rep.statuses {
		st := &rep.statuses[i]
		age, ok := ages[st.Name]
		flowing := ok && age <= v.MaxSampleAge.Duration
		st.MetricsFlowing = &flowing
		if ok {
			st.LastSampleAge = age.Round(time.Second).String()
		}
		if !flowing {
			rep.silent = append(rep.silent, st.Name)
		}
	}
}

// queryClient is an HTTP client for the hub's query API, with the CA and
// token the spec names.
func (r *Wirer) queryClient(ctx context.Context, d *meshv1alpha1.KialiAuthProxy, v *meshv1alpha1.VerifySpec) (*http.Client, string, error) {
	var token string
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if ref := v.BearerToken; ref != nil {
		_, val, p, err := r.Secrets.Key(ctx, d.Namespace, render.SecretKey{Name: ref.Name, Key: ref.Key}, "referenced by spec.metrics.verify.bearerToken")
		if err != nil {
			return nil, "", err
		}
		if p != nil {
			return nil, "", fmt.Errorf("%s", p.Message)
		}
		token = strings.TrimSpace(string(val))
	}
	if ref := v.CA; ref != nil {
		_, val, p, err := r.Secrets.Key(ctx, d.Namespace, render.SecretKey{Name: ref.Name, Key: ref.Key}, "referenced by spec.metrics.verify.ca")
		if err != nil {
			return nil, "", err
		}
		if p != nil {
			return nil, "", fmt.Errorf("%s", p.Message)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(val) {
			return nil, "", fmt.Errorf("Secret %s/%s key %q (spec.metrics.verify.ca) holds no PEM certificate", d.Namespace, ref.Name, ref.Key)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: transport, Timeout: queryTimeout}, token, nil
}

// queryResponse is the part of a Prometheus instant query response read.
type queryResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	} `json:"data"`
}

// queryNewestSamples runs the query and returns, per cluster label value,
// the age of the newest sample at the hub's evaluation time.
func queryNewestSamples(ctx context.Context, hc *http.Client, base, token, query, label string) (map[string]time.Duration, error) {
	qr, err := runQuery(ctx, hc, base, token, query)
	if err != nil {
		return nil, err
	}
	ages := map[string]time.Duration{}
	for _, s := range qr.Data.Result {
		at, ok := s.Value[0].(float64)
		raw, ok2 := s.Value[1].(string)
		if !ok || !ok2 {
			return nil, fmt.Errorf("%s answered a sample without a time and value", base)
		}
		ts, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, fmt.Errorf("%s answered a timestamp that is not a number: %q", base, raw)
		}
		age := time.Duration((at - ts) * float64(time.Second))
		ages[s.Metric[label]] = max(age, 0)
	}
	return ages, nil
}

// runQuery runs an instant query that answers a vector.
func runQuery(ctx context.Context, hc *http.Client, base, token, query string) (*queryResponse, error) {
	u, err := url.Parse(strings.TrimRight(base, "/") + "/api/v1/query")
	if err != nil {
		return nil, fmt.Errorf("query URL %q: %w", base, err)
	}
	u.RawQuery = url.Values{"query": {query}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("querying %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", base, err)
	}
	var qr queryResponse
	if err := json.Unmarshal(body, &qr); err != nil {
		return nil, fmt.Errorf("%s answered HTTP %d with something that is not a Prometheus API response", base, resp.StatusCode)
	}
	if qr.Status != "success" {
		return nil, fmt.Errorf("%s answered HTTP %d: %s: %s", base, resp.StatusCode, qr.ErrorType, qr.Error)
	}
	if qr.Data.ResultType != "vector" {
		return nil, fmt.Errorf("%s answered a %s, not a vector", base, qr.Data.ResultType)
	}
	return &qr, nil
}

// meshClusterLabels are the labels Istio's proxies name clusters in, with
// their cluster IDs (istio/istio, the stats filter's standard labels).
var meshClusterLabels = []string{"source_cluster", "destination_cluster"}

// meshClusterQuery asks the hub for the cluster names in the mesh metrics
// of the last maxAge.
func meshClusterQuery(keepRegex string, maxAge time.Duration) string {
	return fmt.Sprintf(`group by (%s) (last_over_time({__name__=~%s, source_cluster!=""}[%ds]))`,
		strings.Join(meshClusterLabels, ", "), strconv.Quote(keepRegex), int(maxAge.Seconds()))
}

// meshClusterNames runs meshClusterQuery and returns every name seen.
func meshClusterNames(ctx context.Context, hc *http.Client, base, token, query string) ([]string, error) {
	qr, err := runQuery(ctx, hc, base, token, query)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range qr.Data.Result {
		for _, l := range meshClusterLabels {
			if v := s.Metric[l]; v != "" && v != "unknown" {
				seen[v] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
