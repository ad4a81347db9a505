package multicluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNewestSampleQuery(t *testing.T) {
	got := newestSampleQuery("istio_.*|envoy_.*|up", "cluster", []string{"east", "west"})
	want := `max by (cluster) (timestamp({__name__=~"istio_.*|envoy_.*|up", cluster=~"east|west"}))`
	if got != want {
		t.Errorf("query = %s\nwant    %s", got, want)
	}
}

func TestQueryNewestSamples(t *testing.T) {
	var gotQuery, gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery, gotAuth = r.URL.Query().Get("query"), r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/ok/api/v1/query":
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[
				{"metric":{"cluster":"east"},"value":[1700000100.5,"1700000088.5"]},
				{"metric":{"cluster":"west"},"value":[1700000100.5,"1700000100.7"]}]}}`))
		case "/bad/api/v1/query":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	ages, err := queryNewestSamples(ctx, srv.Client(), srv.URL+"/ok/", "tok", "q", "cluster")
	if err != nil {
		t.Fatal(err)
	}
	if gotQuery != "q" || gotAuth != "Bearer tok" {
		t.Errorf("sent query %q with Authorization %q", gotQuery, gotAuth)
	}
	if ages["east"] != 12*time.Second {
		t.Errorf("east age = %v, want 12s (measured at the hub's evaluation time)", ages["east"])
	}
	if ages["west"] != 0 {
		t.Errorf("a sample stamped after the evaluation has age %v, want 0", ages["west"])
	}

	if _, err := queryNewestSamples(ctx, srv.Client(), srv.URL+"/bad", "", "q", "cluster"); err == nil ||
		!strings.Contains(err.Error(), "bad_data: parse error") {
		t.Errorf("error answer: err = %v", err)
	}
	if _, err := queryNewestSamples(ctx, srv.Client(), srv.URL+"/missing", "", "q", "cluster"); err == nil ||
		!strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("not a Prometheus: err = %v", err)
	}
}
