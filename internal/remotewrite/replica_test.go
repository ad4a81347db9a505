package remotewrite

import (
	"regexp"
	"strings"
	"testing"
)

// Prometheus anchors relabel regexes at both ends and uses RE2, as Go's
// regexp does.
func TestFirstReplicaRegexKeepsOneReplicaOfEachShard(t *testing.T) {
	re := regexp.MustCompile("^(?:" + FirstReplicaRegex + ")$")
	for value, kept := range map[string]bool{
		"":                           true, // no replica label: the sender's own samples
		"prometheus-k8s-0":           true, // the Prometheus Operator's pod names
		"prometheus-k8s-1":           false,
		"prometheus-k8s-10":          false,
		"prometheus-k8s-20":          false,
		"prometheus-k8s-shard-1-0":   true, // each further shard scrapes other targets
		"prometheus-k8s-shard-1-1":   false,
		"prometheus-k8s-shard-10":    false,
		"prometheus-user-workload-0": true, // OpenShift user-workload monitoring
		"prometheus-user-workload-1": false,
	} {
		if got := re.MatchString(value); got != kept {
			t.Errorf("replica %q kept = %v, want %v", value, got, kept)
		}
	}
}

func replicaEntry() Entry {
	e := entry()
	e.ReplicaLabel = DefaultReplicaLabel
	return e
}

// With a replica label, every format sends the first replica's samples
// only, without that label, before the cluster label is set.
func TestReplicaRulesInEveryFormat(t *testing.T) {
	e := replicaEntry()

	m, err := EntryMap(e)
	if err != nil {
		t.Fatal(err)
	}
	rc := strictSpec(t, m).WriteRelabelConfigs
	if len(rc) != 4 ||
		rc[0].Action != "keep" || rc[0].SourceLabels[0] != "__name__" ||
		rc[1].Action != "keep" || len(rc[1].SourceLabels) != 1 || rc[1].SourceLabels[0] != "prometheus_replica" || rc[1].Regex != FirstReplicaRegex ||
		rc[2].Action != "labeldrop" || rc[2].Regex != "prometheus_replica" || len(rc[2].SourceLabels) != 0 ||
		rc[3].Action != "replace" || rc[3].TargetLabel != "cluster" || *rc[3].Replacement != "east" {
		t.Errorf("Prometheus resource rules: %#v", m["writeRelabelConfigs"])
	}

	pt := newPromtool(t)
	config := "global:\n  scrape_interval: 15s\n  external_labels:\n    prometheus_replica: ${POD_NAME}\n"
	merged, _, err := MergePrometheusYAML(config, e)
	if err != nil {
		t.Fatal(err)
	}
	assertOurYAMLEntry(t, merged, e)
	pt.check("replica rules", merged)
	if !strings.Contains(merged, "    - source_labels: [prometheus_replica]\n      regex: (.*-0)?\n      action: keep\n    - regex: prometheus_replica\n      action: labeldrop\n") {
		t.Errorf("prometheus.yml rules as written:\n%s", merged)
	}

	uwm, _, err := MergeUWM("", e)
	if err != nil {
		t.Fatal(err)
	}
	assertUWM(t, "", uwm, e)

	// A label of the sender's own naming (spec.replicaExternalLabelName).
	e.ReplicaLabel = "replica"
	if m, err = EntryMap(e); err != nil {
		t.Fatal(err)
	}
	if rc := strictSpec(t, m).WriteRelabelConfigs; len(rc) != 4 || rc[1].SourceLabels[0] != "replica" || rc[2].Regex != "replica" {
		t.Errorf("own replica label: %#v", m["writeRelabelConfigs"])
	}
}

func TestReplicaLabelChecked(t *testing.T) {
	for label, want := range map[string]string{
		"cluster":   "also the sender's replica label",
		"replica-x": "not a Prometheus label name",
		".*":        "not a Prometheus label name",
	} {
		e := replicaEntry()
		e.ReplicaLabel = label
		for format, err := range map[string]error{
			"resource":       func() error { _, err := EntryMap(e); return err }(),
			"prometheus.yml": func() error { _, _, err := MergePrometheusYAML("global: {}\n", e); return err }(),
			"uwm":            func() error { _, _, err := MergeUWM("", e); return err }(),
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s, replica label %q: err = %v, want %q", format, label, err, want)
			}
		}
	}
}
