package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// resyncResult: a restarted manager reconciles every CR once; none of those
// reconciles should write.
type resyncResult struct {
	reconciles, reads, writes float64
}

func (b *bench) resync(ctx context.Context, s scenario) (resyncResult, error) {
	log("resync: restarting the manager over %d converged objects", s.crs)
	b.stopManager()
	if err := b.startManager(); err != nil {
		return resyncResult{}, err
	}
	// Wait until the start-up reconciles are done and stay done.
	var last requests
	stable := 0
	for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); {
		m, err := b.mgr.scrape()
		if err != nil {
			return resyncResult{}, err
		}
		r := requestsOf(m)
		if r.reconciles >= float64(s.crs) && r == last {
			stable++
			if stable >= 3 {
				break
			}
		} else {
			stable = 0
		}
		last = r
		time.Sleep(time.Second)
	}
	return resyncResult{reconciles: last.reconciles, reads: last.reads, writes: last.writes}, nil
}

// drift deletes one proxy Service at a time, of the objects of run r, and
// times its return.
func (b *bench) drift(ctx context.Context, r row) (durations, error) {
	log("drift: %d trials", b.o.driftTrials)
	s, tag := r.scenario, r.tag
	w, err := b.c.Watch(ctx, &corev1.ServiceList{}, client.MatchingLabels{render.LabelManagedBy: render.ManagedByValue})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var out durations
	for t := 0; t < b.o.driftTrials; t++ {
		i := (t * 7919) % s.crs
		ns := fmt.Sprintf("op-%s-%d", tag, i%s.namespaces)
		name := render.NamesFor(sampleCR(ns, fmt.Sprintf("kiali-%d", i), tag)).Proxy
		svc := &corev1.Service{}
		if err := b.c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, svc); err != nil {
			return nil, err
		}
		uid := svc.UID
		start := time.Now()
		if err := b.c.Delete(ctx, svc, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return nil, err
		}
		timeout := time.After(30 * time.Second)
	wait:
		for {
			select {
			case ev := <-w.ResultChan():
				o, ok := ev.Object.(*corev1.Service)
				if ok && ev.Type == watch.Added && o.Namespace == ns && o.Name == name && o.UID != uid {
					out = append(out, time.Since(start))
					break wait
				}
			case <-timeout:
				return nil, fmt.Errorf("Service %s/%s was not restored within 30s", ns, name)
			}
		}
	}
	return out, nil
}

// footprint is the manager's memory and CPU with every object in place.
type footprint struct {
	cpuTop, heapTop    string
	rss, peak, heap    float64
	cpuPer1000         time.Duration
	cpuDuring          time.Duration
	reconcilesForCPU   float64
	secretsInCluster   int
	cachedSecretsLabel string
}

func (b *bench) footprint() (footprint, error) {
	// The resident size at rest: the Go runtime returns the memory freed
	// after the load (the start-up lists, the drift trials) gradually, so
	// wait until it stops shrinking.
	var rss int64
	for i := 0; i < 12; i++ {
		time.Sleep(5 * time.Second)
		now, _, err := usage(b.mgr.cmd.Process.Pid)
		if err != nil {
			return footprint{}, err
		}
		settled := rss != 0 && rss-now < 1<<20
		rss = now
		if settled {
			break
		}
	}
	peak, err := peakRSS(b.mgr.cmd.Process.Pid)
	if err != nil {
		return footprint{}, err
	}
	m, err := b.mgr.scrape()
	if err != nil {
		return footprint{}, err
	}
	f := footprint{rss: float64(rss), peak: float64(peak), heap: m.Sum("go_memstats_heap_inuse_bytes"), reconcilesForCPU: b.cpuRecs}
	if f.heapTop, err = b.profile("heap", "heap.pprof", "inuse_space"); err != nil {
		return footprint{}, err
	}
	if b.cpuTop != nil {
		f.cpuTop = <-b.cpuTop
	}
	f.cpuDuring = b.cpu
	if b.cpuRecs > 0 {
		f.cpuPer1000 = time.Duration(float64(b.cpu) / b.cpuRecs * 1000)
	}
	return f, nil
}
