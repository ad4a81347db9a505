package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The API server's audit log names the reads the manager makes: the
// request counter says how many, the log which. Only the manager's reads
// are logged, so the log costs the baseline nothing and the operator little.

const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  users: ["` + managerUser + `"]
  verbs: ["get", "list", "watch"]
- level: None
`

// managerUser is the user the manager authenticates as.
const managerUser = "bench-manager"

// writeAuditPolicy writes the policy into dir and returns the policy's and
// the log's paths.
func writeAuditPolicy(dir string) (policy, logPath string, err error) {
	policy = filepath.Join(dir, "audit-policy.yaml")
	return policy, filepath.Join(dir, "audit.log"), os.WriteFile(policy, []byte(auditPolicy), 0o644)
}

type auditEvent struct {
	Stage     string                    `json:"stage"`
	Verb      string                    `json:"verb"`
	User      struct{ Username string } `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	RequestReceived time.Time `json:"requestReceivedTimestamp"`
}

// reads counts the manager's reads by verb and resource ("get secrets")
// received in [from, to]. A watch counts once, when its response starts.
func auditReads(logPath string, from, to time.Time) (map[string]float64, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("reading the audit log: %w", err)
		}
		if e.User.Username != managerUser || e.RequestReceived.Before(from) || e.RequestReceived.After(to) {
			continue
		}
		if e.Verb == "watch" && e.Stage != "ResponseStarted" || e.Verb != "watch" && e.Stage != "ResponseComplete" {
			continue
		}
		resource := "(no resource)"
		if r := e.ObjectRef; r != nil {
			resource = r.Resource
			if r.Subresource != "" {
				resource += "/" + r.Subresource
			}
		}
		out[e.Verb+" "+resource]++
	}
	return out, sc.Err()
}

// describeReads lists reads per CR, most first: "get secrets 1.00".
func describeReads(reads map[string]float64, crs int) string {
	keys := make([]string, 0, len(reads))
	for k := range reads {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if reads[keys[i]] != reads[keys[j]] {
			return reads[keys[i]] > reads[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("`%s` %.2f", k, reads[k]/float64(crs))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
