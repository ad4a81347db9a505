package upgrade

import (
	"context"
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// deletionLog is what watches on the namespace saw that would hide or be a
// deletion: deleted objects, and watches that failed or ended early (a
// closed watch would miss a deletion silently).
type deletionLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *deletionLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, s)
}

func (l *deletionLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// watchDeletions watches every kind among objs in the namespace, until the
// calling container's specs are done, and logs what it sees deleted.
func watchDeletions(objs []*unstructured.Unstructured) *deletionLog {
	GinkgoHelper()
	l := &deletionLog{}
	wctx, cancel := context.WithCancel(ctx)
	var watches []watch.Interface
	// Cancelled first, so that the watches' end is not taken for an early
	// one.
	DeferCleanup(func() {
		cancel()
		for _, w := range watches {
			w.Stop()
		}
	})
	kinds := map[schema.GroupVersionKind]bool{}
	for _, o := range objs {
		kinds[o.GroupVersionKind()] = true
	}
	for gvk := range kinds {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		w, err := k.Watch(wctx, list, client.InNamespace(namespace))
		Expect(err).NotTo(HaveOccurred(), gvk.Kind)
		watches = append(watches, w)
		go func() {
			defer GinkgoRecover()
			for ev := range w.ResultChan() {
				switch ev.Type {
				case watch.Deleted:
					if o, ok := ev.Object.(client.Object); ok {
						l.add(fmt.Sprintf("%s %s/%s deleted", gvk.Kind, o.GetNamespace(), o.GetName()))
					}
				case watch.Error:
					l.add(fmt.Sprintf("watch on %s failed: %v", gvk.Kind, ev.Object))
				}
			}
			if wctx.Err() == nil {
				l.add(fmt.Sprintf("watch on %s ended early", gvk.Kind))
			}
		}()
	}
	return l
}
