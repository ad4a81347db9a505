package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

type report struct {
	machine     string
	secrets     int
	concurrency int
	rows        []row
	resync      resyncResult
	drift       durations
	footprint   footprint
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `make bench` (`go run ./test/bench`): a real kube-apiserver and etcd (envtest) with every CRD the\n")
	b.WriteString("operator meets, and the manager binary as its own process. Figures are from one run on one machine\n")
	fmt.Fprintf(&b, "(the largest scenario %d times); compare them as ratios within the run, not across machines.\n\n", len(r.largest()))
	fmt.Fprintf(&b, "Machine: %s. The manager reconciles %d objects in parallel; the baseline applies with as many workers.\n", r.machine, r.concurrency)
	fmt.Fprintf(&b, "%d unrelated Secrets are in the cluster throughout.\n\n", r.secrets)

	b.WriteString("## Convergence\n\n")
	b.WriteString("*Operator*: from creating a KialiAuthProxy until its status describes its generation with the Kiali CR, the\n")
	b.WriteString("exposure and the lock-down applied (the proxy's availability needs pods, which envtest does not run).\n")
	b.WriteString("*Baseline*: server-side applying, with a bare client loop, exactly the objects `render` produces for the same\n")
	b.WriteString("CRs (and creating their session Secret), with no operator running.\n\n")
	b.WriteString("| KialiAuthProxy objects | namespaces | run | operator p50 / p99 per CR | operator total | baseline p50 / p99 per CR | baseline total | operator / baseline | reconciles per CR | API reads / writes per reconcile |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %d | %d | %d | %s / %s | %s | %s / %s | %s | %.2f | %.1f | %.1f / %.1f |\n",
			x.crs, x.namespaces, x.run+1, ms(x.operator.quantile(0.5)), ms(x.operator.quantile(0.99)), ms(x.operatorTotal),
			ms(x.baseline.quantile(0.5)), ms(x.baseline.quantile(0.99)), ms(x.baselineTotal),
			float64(x.operatorTotal)/float64(x.baselineTotal), x.reconcilesPerCR, x.perReconcile.reads, x.perReconcile.writes)
	}
	b.WriteString("\nThe per-CR times are not comparable with each other: a CR's operator time includes waiting in the queue\n")
	b.WriteString("behind the others, a baseline CR's time only its own applies. The totals are the comparison. The\n")
	b.WriteString("largest scenario is run several times, each run from the same cluster (the objects of the run before\n")
	b.WriteString("deleted): its time varies from run to run, and the target is judged on the median.\n\n")

	b.WriteString("## What any operator pays\n\n")
	b.WriteString("The largest scenario's runs also time two floors (`test/bench/floor.go`): the baseline's client loop, with\n")
	b.WriteString("no manager running, that also creates each KialiAuthProxy and writes its converged status once (*CR and\n")
	b.WriteString("status*), and the same while this program watches every object written with the informers and\n")
	b.WriteString("selectors of the manager's caches (*and watches*). Nothing an operator does to converge a new CR costs\n")
	b.WriteString("less than the first; one that repairs drift from watch events costs at least the second.\n\n")
	b.WriteString("| run | baseline | CR and status | and watches | operator | CR and status / baseline | and watches / baseline | operator / baseline | operator / and watches |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.largest() {
		base := float64(x.baselineTotal)
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f |\n", x.run+1, ms(x.baselineTotal), ms(x.floor.total),
			ms(x.watched.total), ms(x.operatorTotal), float64(x.floor.total)/base, float64(x.watched.total)/base,
			float64(x.operatorTotal)/base, float64(x.operatorTotal)/float64(x.watched.total))
	}
	b.WriteString("\n")

	b.WriteString("## Reads on creation\n\n")
	b.WriteString("The manager's reads while the CRs converged, per KialiAuthProxy, by verb and resource, from the API\n")
	b.WriteString("server's audit log. Secrets are never cached, so each Secret a KialiAuthProxy references is read from\n")
	b.WriteString("the API server (`get secrets`; the sample references none); the session secret of a new one is\n")
	b.WriteString("created without a read first, and every other object is looked up in the manager's caches:\n\n")
	b.WriteString("| KialiAuthProxy objects | run | reads per CR | reads per reconcile | of which live Secret reads |\n|---|---|---|---|---|\n")
	for _, x := range r.rows {
		fmt.Fprintf(&b, "| %d | %d | %s | %.2f | %.2f |\n", x.crs, x.run+1, describeReads(x.creationReads, x.crs),
			x.perReconcile.reads, x.secretReadsPerReconcile())
	}
	b.WriteString("\n")

	last := r.rows[len(r.rows)-1]
	largest := r.largest()
	ratios := make([]float64, len(largest))
	shown := make([]string, len(largest))
	worstReads, worstMargin := 0.0, 0.0
	for i, x := range largest {
		ratios[i] = float64(x.operatorTotal) / float64(x.baselineTotal)
		shown[i] = fmt.Sprintf("%.2fx", ratios[i])
		if margin := x.perReconcile.reads - x.secretReadsPerReconcile(); i == 0 || margin > worstMargin {
			worstReads, worstMargin = x.perReconcile.reads, margin
		}
	}
	ratio := median(ratios)
	floors, watchedFloors := make([]float64, len(largest)), make([]float64, len(largest))
	for i, x := range largest {
		floors[i] = float64(x.floor.total) / float64(x.baselineTotal)
		watchedFloors[i] = float64(x.watched.total) / float64(x.baselineTotal)
	}
	b.WriteString("## Targets\n\n")
	b.WriteString("| target | measured | |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| %d CRs converge within 1.3x the baseline's time, as the median of %d runs | median %.2fx (runs: %s); floors: CR and status %.2fx, and watches %.2fx (medians) | %s |\n",
		last.crs, len(largest), ratio, strings.Join(shown, ", "), median(floors), median(watchedFloors), met(ratio <= 1.3))
	fmt.Fprintf(&b, "| reads per reconcile on creation at most the live Secret reads plus one (%d CRs, worst run) | %.2f reads, %.2f beside the Secret reads | %s |\n",
		last.crs, worstReads, worstMargin, met(worstMargin <= 1))
	fmt.Fprintf(&b, "| zero writes per no-op resync (manager restarted over %d converged CRs) | %.0f writes in %.0f reconciles (%.0f reads) | %s |\n",
		last.crs, r.resync.writes, r.resync.reconciles, r.resync.reads, met(r.resync.writes == 0))
	fmt.Fprintf(&b, "| drift repair p99 under 1 s (proxy Service deleted, %d trials) | p50 %s, p99 %s | %s |\n",
		len(r.drift), ms(r.drift.quantile(0.5)), ms(r.drift.quantile(0.99)), met(r.drift.quantile(0.99) < time.Second))
	fmt.Fprintf(&b, "| manager RSS under 150 MiB with %d CRs and %d unrelated Secrets (at rest; peak while starting over them) | RSS %.0f MiB (peak %.0f MiB), Go heap in use %.0f MiB | %s |\n",
		last.crs, r.secrets, r.footprint.rss/(1<<20), r.footprint.peak/(1<<20), r.footprint.heap/(1<<20), met(r.footprint.rss < 150*(1<<20)))
	fmt.Fprintf(&b, "| CPU per 1000 reconciles (measured over the %d-CR scenario's %.0f reconciles) | %.2f s | |\n",
		last.crs, r.footprint.reconcilesForCPU, r.footprint.cpuPer1000.Seconds())
	b.WriteString("\n## Where the CPU went\n\n")
	fmt.Fprintf(&b, "CPU seconds spent by each process while the %d CRs converged (the machine has %d cores):\n\n", last.crs, runtime.NumCPU())
	b.WriteString("| phase | wall | machine busy | kube-apiserver | etcd | manager | bench client |\n|---|---|---|---|---|---|---|\n")
	for _, p := range []struct {
		name string
		c    cpuShares
	}{{"baseline", last.baselineCPU}, {"CR and status", last.floor.cpu}, {"and watches", last.watched.cpu}, {"operator", last.operatorCPU}} {
		fmt.Fprintf(&b, "| %s | %.1f s | %.0f%% | %.1f s | %.1f s | %.1f s | %.1f s |\n", p.name, p.c.wall.Seconds(),
			100*p.c.busy.Seconds()/p.c.wall.Seconds()/float64(runtime.NumCPU()),
			p.c.apiserver.Seconds(), p.c.etcd.Seconds(), p.c.manager.Seconds(), p.c.client.Seconds())
	}
	b.WriteString("\n## Why a target is missed\n\n")
	opRequests := (last.perReconcile.reads + last.perReconcile.writes) * last.reconcilesPerCR
	extra := last.operatorCPU.apiserver - last.baselineCPU.apiserver
	fmt.Fprintf(&b, "- Convergence: per KialiAuthProxy the operator makes %.1f requests (%.1f reconciles of %.1f reads and %.1f writes)\n",
		opRequests, last.reconcilesPerCR, last.perReconcile.reads, last.perReconcile.writes)
	fmt.Fprintf(&b, "  against the baseline's %d writes, and the user's create of the CR is one more. The table above shows the\n", baselineWrites())
	fmt.Fprintf(&b, "  time is the API server's: it spent %.1f s more CPU in the operator phase than in the baseline phase, while\n", extra.Seconds())
	fmt.Fprintf(&b, "  the manager itself used %.1f s (%.0f%% of one core), on a machine the four processes keep busy. The\n",
		last.operatorCPU.manager.Seconds(), 100*last.operatorCPU.manager.Seconds()/last.operatorCPU.wall.Seconds())
	b.WriteString("  difference of the two API server profiles below shows where: creating the KialiAuthProxy objects\n")
	b.WriteString("  themselves and writing their status (both checked against the CRD's schema and validation rules), and a\n")
	b.WriteString("  watch event to the manager's informers for every object written; the baseline does none of these.\n")
	rest := make([]float64, len(largest))
	for i, x := range largest {
		rest[i] = float64(x.operatorTotal) / float64(x.watched.total)
	}
	fmt.Fprintf(&b, "  The floors put figures on these: creating the CRs and writing their status alone takes %.2fx the baseline's\n", median(floors))
	fmt.Fprintf(&b, "  time, and watching what is written as the manager does %.2fx (medians of the runs). The operator's own\n", median(watchedFloors))
	fmt.Fprintf(&b, "  work on top (its reconciles, its events, and its process's CPU on the shared cores) is %.2fx the second floor.\n", median(rest))
	fmt.Fprintf(&b, "- Memory: the Go heap in use is %.0f MiB of %.0f MiB resident; the heap profile below shows the informer\n",
		r.footprint.heap/(1<<20), r.footprint.rss/(1<<20))
	b.WriteString("  caches (objects decoded from watches) hold most of it: the operator's own objects for every CR, the\n")
	b.WriteString("  KialiAuthProxy objects, and the metadata of every Secret (referenced Secrets are not labelled, so their\n")
	b.WriteString("  watch cannot be narrowed by label). The rest of the resident size is the Go runtime's headroom between\n")
	b.WriteString("  collections, which the manager keeps to half the live heap (GOGC 50 unless set).\n")

	b.WriteString("\n## Profiles\n\n")
	fmt.Fprintf(&b, "CPU of the manager for 20 s while the %d CRs converge (first run, `go tool pprof -top`):\n\n```\n%s```\n\n", last.crs, trimProfile(r.footprint.cpuTop))
	fmt.Fprintf(&b, "Heap in use at the end:\n\n```\n%s```\n\n", trimProfile(r.footprint.heapTop))
	fmt.Fprintf(&b, "The API server for 20 s while the baseline applies the %d CRs' objects (own time, first run):\n\n```\n%s```\n\n", last.crs, trimProfile(largest[0].baselineAPIServer))
	fmt.Fprintf(&b, "The API server for 20 s while the operator converges the %d CRs (own time, first run):\n\n```\n%s```\n\n", last.crs, trimProfile(largest[0].operatorAPIServer))
	fmt.Fprintf(&b, "Where the API server spent more (positive) or less (negative) in the operator phase than in the baseline\nphase, by cumulative time (`go tool pprof -diff_base`, runtime frames left out):\n\n```\n%s```\n", trimProfile(largest[0].apiServerDiff))
	b.WriteString("\nRequests are counted by the manager's own client (`rest_client_requests_total`: reads are GET, including\n")
	b.WriteString("the start of each watch; writes are POST, PUT, PATCH and DELETE, including events and status), and\n")
	b.WriteString("reconciles by `controller_runtime_reconcile_total`.\n")
	return b.String()
}

// baselineWrites are the baseline's writes per CR: the session Secret and
// each rendered object.
func baselineWrites() int {
	return 1 + len(render.Objects(sampleCR("x", "x", ""), render.Inputs{}))
}

// trimProfile drops pprof's header lines that name files of this run.
func trimProfile(top string) string {
	var out []string
	for _, line := range strings.Split(top, "\n") {
		if strings.HasPrefix(line, "File:") || strings.HasPrefix(line, "Build ID:") || strings.HasPrefix(line, "Time:") || strings.HasPrefix(line, "Type:") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// largest are the runs of the last scenario.
func (r *report) largest() []row {
	last := r.rows[len(r.rows)-1].scenario
	var out []row
	for _, x := range r.rows {
		if x.scenario == last {
			out = append(out, x)
		}
	}
	return out
}

// secretReadsPerReconcile are the live Secret reads, per reconcile.
func (x row) secretReadsPerReconcile() float64 {
	if x.perReconcile.reconciles == 0 {
		return 0
	}
	return x.creationReads["get secrets"] / x.perReconcile.reconciles
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
