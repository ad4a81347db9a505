package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/kialiauth/kiali-auth-proxy-operator/internal/apply"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
	"github.com/kialiauth/kiali-auth-proxy-operator/test/testbed"
)

type bench struct {
	c   client.WithWatch
	cfg *rest.Config
	// debugSocket serves the API server's profiles.
	debugSocket string
	// auditLog is the API server's log of the manager's reads.
	auditLog   string
	o          options
	binary     string
	kubeconfig string
	work       string
	mgr        *managerProcess

	// cpuAtStart and reconcilesAtStart are read when the last scenario
	// starts, for CPU seconds per 1000 reconciles.
	cpu      time.Duration
	cpuRecs  float64
	lastReqs requests

	// cpuTop is pprof's top of a CPU profile taken while the largest
	// scenario converges.
	cpuTop chan string
	meter  *cpuMeter
	// status is the status the manager wrote for a warm-up KialiAuthProxy:
	// the floors write it for theirs.
	status *meshv1alpha1.KialiAuthProxyStatus
}

const benchLabel = "bench.kialiauth.io/scenario"

// sampleCR is a KialiAuthProxy like the reference setup's.
func sampleCR(namespace, name, scenario string) *meshv1alpha1.KialiAuthProxy {
	return &meshv1alpha1.KialiAuthProxy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: map[string]string{benchLabel: scenario}},
		Spec: meshv1alpha1.KialiAuthProxySpec{
			Kiali: meshv1alpha1.KialiSpec{Prometheus: &meshv1alpha1.PrometheusSpec{URL: "http://prometheus.istio-system.svc:9090"}},
			Exposure: meshv1alpha1.ExposureSpec{
				Host:           name + "." + namespace + ".apps.example.com",
				VirtualService: &meshv1alpha1.VirtualServiceExposure{Gateways: []string{"istio-system/mesh-gateway"}},
			},
		},
	}
}

func createNamespaces(ctx context.Context, c client.Client, prefix string, n int) ([]string, error) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: names[i]}}
		if err := client.IgnoreAlreadyExists(c.Create(ctx, ns)); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func createNoise(ctx context.Context, c client.Client, n int) error {
	if _, err := createNamespaces(ctx, c, "noise", 1); err != nil {
		return err
	}
	return parallel(16, n, func(i int) error {
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "noise-0", Name: fmt.Sprintf("unrelated-%05d", i)},
			Data:       map[string][]byte{"token": []byte(fmt.Sprintf("%064d", i))},
		}
		return client.IgnoreAlreadyExists(c.Create(ctx, s))
	})
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(workers, n int, f func(int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// row is one run of a scenario's figures.
type row struct {
	scenario
	// run counts the runs of the scenario from 0; tag names its objects.
	run          int
	tag          string
	opNamespaces []string
	// creationReads are the manager's reads while the CRs converged, by
	// verb and resource, from the API server's audit log.
	creationReads                map[string]float64
	operator, baseline           durations
	operatorTotal, baselineTotal time.Duration
	perReconcile                 requests
	reconcilesPerCR              float64
	// Who spent the CPU in each phase, and where the API server spent it
	// (the largest scenario only).
	operatorCPU, baselineCPU cpuShares
	// floor and watched are the floors of the largest scenario (floor.go).
	floor, watched                       floorPhase
	operatorAPIServer, baselineAPIServer string
	apiServerDiff                        string
}

type durations []time.Duration

func (d durations) quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append(durations(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// convergence times the baseline and then the operator for one run of a
// scenario.
func (b *bench) convergence(ctx context.Context, s scenario, run int) (row, error) {
	tag := fmt.Sprintf("n%d", s.crs)
	if run > 0 {
		tag += fmt.Sprintf("-r%d", run)
	}
	r := row{scenario: s, run: run, tag: tag}

	// Baseline: the objects render produces, applied by a bare client loop
	// with as many workers as the manager reconciles in parallel; no
	// manager runs meanwhile.
	b.stopManager()
	baseNS, err := createNamespaces(ctx, b.c, "base-"+tag, s.namespaces)
	if err != nil {
		return r, err
	}
	log("baseline: applying the objects of %d KialiAuthProxy objects", s.crs)
	// Profiles of the first run of the largest scenario.
	largest := s == b.o.sizes[len(b.o.sizes)-1] && run == 0
	baseProfile := b.apiServerProfile(ctx, largest, "apiserver-baseline.pprof", &r.baselineAPIServer)
	r.baseline = make(durations, s.crs)
	cpuStart := b.meter.read()
	start := time.Now()
	err = parallel(b.o.concurrency, s.crs, func(i int) error {
		t := time.Now()
		kap := sampleCR(baseNS[i%s.namespaces], fmt.Sprintf("kiali-%d", i), tag)
		if err := applyRendered(ctx, b.c, kap); err != nil {
			return err
		}
		r.baseline[i] = time.Since(t)
		return nil
	})
	r.baselineTotal = time.Since(start)
	r.baselineCPU = b.meter.since(cpuStart)
	baseProfile()
	if err != nil {
		return r, err
	}
	// The operator then starts from the cluster the baseline started from:
	// some API server work grows with what is stored (allocating a Service's
	// IP walks the allocated ones), so leftovers would tax the operator.
	if err := deleteBaseline(ctx, b.c, baseNS); err != nil {
		return r, err
	}
	if s == b.o.sizes[len(b.o.sizes)-1] {
		if r.floor, err = b.floor(ctx, s, tag, false); err != nil {
			return r, err
		}
		if r.watched, err = b.floor(ctx, s, tag, true); err != nil {
			return r, err
		}
	}

	// The operator: create the CRs and wait until each has converged.
	if err := b.startManager(); err != nil {
		return r, err
	}
	if err := b.warmUp(ctx, tag); err != nil {
		return r, err
	}
	opNS, err := createNamespaces(ctx, b.c, "op-"+tag, s.namespaces)
	if err != nil {
		return r, err
	}
	r.opNamespaces = opNS
	before, err := b.mgr.scrape()
	if err != nil {
		return r, err
	}
	_, cpuBefore, err := usage(b.mgr.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	w, err := b.c.Watch(ctx, &meshv1alpha1.KialiAuthProxyList{}, client.MatchingLabels{benchLabel: tag})
	if err != nil {
		return r, err
	}
	defer w.Stop()
	created := make([]time.Time, s.crs)
	var mu sync.Mutex
	log("operator: creating %d KialiAuthProxy objects", s.crs)
	opProfile := b.apiServerProfile(ctx, largest, "apiserver-operator.pprof", &r.operatorAPIServer)
	if largest {
		b.cpuTop = make(chan string, 1)
		go func() {
			top, err := b.profile("profile?seconds=20", "cpu.pprof", "")
			if err != nil {
				top = "profile failed: " + err.Error()
			}
			b.cpuTop <- top
		}()
	}
	cpuStart = b.meter.read()
	start = time.Now()
	go func() {
		_ = parallel(b.o.concurrency, s.crs, func(i int) error {
			mu.Lock()
			created[i] = time.Now()
			mu.Unlock()
			return b.c.Create(ctx, sampleCR(opNS[i%s.namespaces], fmt.Sprintf("kiali-%d", i), tag))
		})
	}()
	r.operator = make(durations, 0, s.crs)
	done := map[string]bool{}
	timeout := time.After(10 * time.Minute)
	for len(done) < s.crs {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return r, fmt.Errorf("the watch ended")
			}
			kap, isKAP := ev.Object.(*meshv1alpha1.KialiAuthProxy)
			if !isKAP || ev.Type == watch.Deleted || done[kap.Namespace+"/"+kap.Name] || !converged(kap) {
				continue
			}
			var i int
			fmt.Sscanf(kap.Name, "kiali-%d", &i)
			mu.Lock()
			r.operator = append(r.operator, time.Since(created[i]))
			mu.Unlock()
			done[kap.Namespace+"/"+kap.Name] = true
		case <-timeout:
			return r, fmt.Errorf("%d of %d converged within 10 minutes", len(done), s.crs)
		}
	}
	r.operatorTotal = time.Since(start)
	r.operatorCPU = b.meter.since(cpuStart)
	opProfile()
	if largest {
		r.apiServerDiff = apiServerDiff(filepath.Join(b.work, "apiserver-baseline.pprof"), filepath.Join(b.work, "apiserver-operator.pprof"))
	}
	// Let the last status writes land before counting.
	time.Sleep(2 * time.Second)
	after, err := b.mgr.scrape()
	if err != nil {
		return r, err
	}
	_, cpuAfter, err := usage(b.mgr.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	if r.creationReads, err = auditReads(b.auditLog, start, time.Now()); err != nil {
		return r, err
	}
	d := requestsOf(after).minus(requestsOf(before))
	r.reconcilesPerCR = d.reconciles / float64(s.crs)
	if d.reconciles > 0 {
		r.perReconcile = requests{reads: d.reads / d.reconciles, writes: d.writes / d.reconciles, reconciles: d.reconciles}
	}
	b.cpu, b.cpuRecs = cpuAfter-cpuBefore, d.reconciles
	log("n=%d run %d: operator %v, baseline %v (%.2fx)", s.crs, run+1, r.operatorTotal, r.baselineTotal,
		float64(r.operatorTotal)/float64(r.baselineTotal))
	return r, nil
}

// apiServerProfile profiles the API server for 20 s from now, when on is
// set, and returns a function that waits for the profile and stores pprof's
// top in *out.
func (b *bench) apiServerProfile(ctx context.Context, on bool, file string, out *string) (wait func()) {
	if !on {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		top, err := apiServerProfile(ctx, b.debugSocket, 20, filepath.Join(b.work, file))
		if err != nil {
			top = "profile failed: " + err.Error()
		}
		*out = top
	}()
	return func() { <-done }
}

// converged: the status describes the current spec, and the Kiali CR, the
// exposure and the lock-down are applied. The proxy's availability and the
// proof of the lock-down need pods, which envtest does not run.
func converged(kap *meshv1alpha1.KialiAuthProxy) bool {
	if kap.Status.ObservedGeneration != kap.Generation {
		return false
	}
	for _, t := range []string{meshv1alpha1.ConditionKialiConfigured, meshv1alpha1.ConditionExposed} {
		if !meta.IsStatusConditionTrue(kap.Status.Conditions, t) {
			return false
		}
	}
	return testbed.LockDownApplied(kap)
}

// applyRendered applies what the operator would for kap, by hand: the
// session Secret and every rendered object, with server-side apply.
func applyRendered(ctx context.Context, c client.Client, kap *meshv1alpha1.KialiAuthProxy) error {
	n := render.NamesFor(kap)
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: kap.Namespace, Name: n.SessionSecret},
		Data:       map[string][]byte{meshv1alpha1.DefaultSessionSecretKey: []byte("0123456789abcdefghijklmnopqrstuv")},
	}
	if err := client.IgnoreAlreadyExists(c.Create(ctx, secret)); err != nil {
		return err
	}
	for _, obj := range render.Objects(kap, render.Inputs{SessionSecret: render.SecretKey{Name: n.SessionSecret, Key: meshv1alpha1.DefaultSessionSecretKey}}) {
		u, err := apply.Document(obj)
		if err != nil {
			return err
		}
		// Objects the operator did not make, as the rest of a cluster's are:
		// its cache does not hold them.
		l := u.GetLabels()
		l[render.LabelManagedBy] = "bench-baseline"
		u.SetLabels(l)
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("bench-baseline"), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	return nil
}

// deleteBaseline deletes what applyRendered made in the namespaces.
func deleteBaseline(ctx context.Context, c client.Client, namespaces []string) error {
	var kinds []schema.GroupVersionKind
	for _, obj := range render.Objects(sampleCR("x", "x", ""), render.Inputs{}) {
		gvk, err := apiutil.GVKForObject(obj, c.Scheme())
		if err != nil {
			return err
		}
		kinds = append(kinds, gvk)
	}
	return parallel(4, len(namespaces), func(i int) error {
		for _, gvk := range kinds {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			if err := c.DeleteAllOf(ctx, u, client.InNamespace(namespaces[i]),
				client.MatchingLabels{render.LabelManagedBy: "bench-baseline"}); err != nil {
				return fmt.Errorf("deleting the baseline's %s: %w", gvk.Kind, err)
			}
		}
		return c.DeleteAllOf(ctx, &corev1.Secret{}, client.InNamespace(namespaces[i]))
	})
}

// warmUp waits until the manager has converged one KialiAuthProxy, so that
// its caches and watches are running before anything is timed.
func (b *bench) warmUp(ctx context.Context, tag string) error {
	ns, err := createNamespaces(ctx, b.c, "warmup", 1)
	if err != nil {
		return err
	}
	kap := sampleCR(ns[0], "warm-"+tag, "warmup")
	if err := b.c.Create(ctx, kap); err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := b.c.Get(ctx, client.ObjectKeyFromObject(kap), kap); err == nil && converged(kap) {
			if b.status == nil {
				b.status = kap.Status.DeepCopy()
			}
			return nil
		}
	}
	return fmt.Errorf("the manager did not converge %s/%s within a minute", kap.Namespace, kap.Name)
}

// deleteOperatorRun deletes the KialiAuthProxy objects of a run and what
// the operator made for them: envtest runs no garbage collector.
func (b *bench) deleteOperatorRun(ctx context.Context, r row) error {
	log("deleting the objects of run %d", r.run+1)
	var kinds []schema.GroupVersionKind
	for _, obj := range render.Objects(sampleCR("x", "x", ""), render.Inputs{}) {
		gvk, err := apiutil.GVKForObject(obj, b.c.Scheme())
		if err != nil {
			return err
		}
		kinds = append(kinds, gvk)
	}
	return parallel(4, len(r.opNamespaces), func(i int) error {
		ns := r.opNamespaces[i]
		if err := b.c.DeleteAllOf(ctx, &meshv1alpha1.KialiAuthProxy{}, client.InNamespace(ns)); err != nil {
			return fmt.Errorf("deleting the KialiAuthProxy objects of %s: %w", ns, err)
		}
		ours := client.MatchingLabels{render.LabelManagedBy: render.ManagedByValue}
		for _, gvk := range append(kinds, corev1.SchemeGroupVersion.WithKind("Secret")) {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			if err := b.c.DeleteAllOf(ctx, u, client.InNamespace(ns), ours); err != nil {
				return fmt.Errorf("deleting the operator's %s of %s: %w", gvk.Kind, ns, err)
			}
		}
		return nil
	})
}
