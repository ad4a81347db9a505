package testbed

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Metrics are the series a Prometheus endpoint serves, by their name with
// labels as written, such as controller_runtime_reconcile_total{controller="kialiauthproxy",result="success"}.
type Metrics map[string]float64

// ScrapeMetrics reads the text exposition at url.
func ScrapeMetrics(url string) (Metrics, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	out := Metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

// Sum adds the series of metric whose labels contain every fragment, such
// as `controller="kialiauthproxy"`.
func (m Metrics) Sum(metric string, fragments ...string) float64 {
	total := 0.0
	for s, v := range m {
		if matches(s, metric, fragments) {
			total += v
		}
	}
	return total
}

// Count is the number of series Sum would add: whether series exist at
// all, which a sum of zero-valued series does not tell.
func (m Metrics) Count(metric string, fragments ...string) int {
	n := 0
	for s := range m {
		if matches(s, metric, fragments) {
			n++
		}
	}
	return n
}

func matches(series, metric string, fragments []string) bool {
	if series != metric && !strings.HasPrefix(series, metric+"{") {
		return false
	}
	for _, f := range fragments {
		if !strings.Contains(series, f) {
			return false
		}
	}
	return true
}
