package testbed

import (
	"io"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// gcController is kube-controller-manager's name for the garbage collector;
// no other controller is needed for it.
const gcController = "garbage-collector-controller"

// StartGarbageCollector runs the real Kubernetes garbage collector
// (kube-controller-manager with that controller alone) against a started
// control plane: envtest has none, so objects whose owner is deleted would
// otherwise stay. It returns once the process has started the collector;
// stop ends it and returns an error, with its log, if it had failed
// meanwhile.
//
// The collector learns the cluster's resources, CRDs included, through
// discovery when it starts and again every 30 seconds, so CRDs installed
// after it started are collected only from its next resync on.
func StartGarbageCollector(env *envtest.Environment, cfg *rest.Config) (stop func() error, err error) {
	return StartGarbageCollectorWithLog(env, cfg, nil)
}

// StartGarbageCollectorWithLog is StartGarbageCollector that also copies
// the process's output to log (when not nil), for the caller to show when a
// test fails.
//
// The collector may still be filling its caches when this returns; it
// queues what happens meanwhile and deletes it once they are synced.
func StartGarbageCollectorWithLog(env *envtest.Environment, cfg *rest.Config, log io.Writer) (stop func() error, err error) {
	return StartControllerManager(env, cfg, []string{gcController}, log)
}
