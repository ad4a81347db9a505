package multicluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
	"github.com/kialiauth/kiali-auth-proxy-operator/internal/render"
)

// Kinds of Prometheus sender a wiring writes to.
const (
	senderResource               = "Prometheus"
	senderUserWorkloadMonitoring = "UserWorkloadMonitoring"
	senderConfigMap              = "ConfigMap"
)

// OpenShift's user-workload monitoring configuration, at a fixed place.
const (
	uwmNamespace = "openshift-user-workload-monitoring"
	uwmConfigMap = "user-workload-monitoring-config"
	uwmKey       = "config.yaml"
)

// wiring is one place on another cluster where the operator wrote its
// remote_write entry. Owner references cannot cross clusters, so the
// operator keeps a record of these and takes each out again when the
// cluster leaves the spec or the KialiAuthProxy is deleted.
type wiring struct {
	Cluster string `json:"cluster"`
	// Kubeconfig is the Secret key, in the KialiAuthProxy's namespace, of
	// the kubeconfig used to write there.
	Kubeconfig render.SecretKey `json:"kubeconfig"`
	Sender     string           `json:"sender"`
	Namespace  string           `json:"namespace"`
	Name       string           `json:"name"`
	Key        string           `json:"key,omitempty"`
	Entry      string           `json:"entry"`
	// CreatedConfigMap is set when the operator created the user-workload
	// monitoring ConfigMap, so that it deletes it again once it is empty.
	CreatedConfigMap bool `json:"createdConfigMap,omitempty"`
}

// id says which wirings are the same place: a wiring whose place changed is
// a removal and an addition.
func (w wiring) id() string {
	return fmt.Sprintf("%s|%s|%s/%s|%s|%s", w.Cluster, w.Sender, w.Namespace, w.Name, w.Key, w.Entry)
}

func (w wiring) String() string {
	if t, err := targetOf(w); err == nil {
		return t.describe(w)
	}
	return configMapPlace(w)
}

// configMapPlace names a place in a ConfigMap.
func configMapPlace(w wiring) string {
	return fmt.Sprintf("ConfigMap %s/%s key %s on cluster %s", w.Namespace, w.Name, w.Key, w.Cluster)
}

// record is what the operator wrote outside the KialiAuthProxy's reach.
type record struct {
	Wirings []wiring `json:"wirings,omitempty"`
	// Receiver is the hub Prometheus whose remote-write receiver the
	// operator switched on (it was off before).
	Receiver *meshv1alpha1.ObjectReference `json:"receiver,omitempty"`
	// Access is what the operator made for Kiali on clusters with
	// kialiAccess Managed.
	Access []access `json:"access,omitempty"`
}

func (rec *record) empty() bool {
	return len(rec.Wirings) == 0 && rec.Receiver == nil && len(rec.Access) == 0
}

const recordKey = "record.json"

// loadRecord reads the record; a missing one is empty.
func (r *Wirer) loadRecord(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, n render.Names) (*record, error) {
	cm := &corev1.ConfigMap{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: n.Namespace, Name: n.RemoteWriteRecord}, cm)
	if apierrors.IsNotFound(err) {
		return &record{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ConfigMap %s/%s: %w", n.Namespace, n.RemoteWriteRecord, err)
	}
	rec := &record{}
	if raw := cm.Data[recordKey]; raw != "" {
		if err := json.Unmarshal([]byte(raw), rec); err != nil {
			return nil, fmt.Errorf("ConfigMap %s/%s key %s is not the operator's record: %w", n.Namespace, n.RemoteWriteRecord, recordKey, err)
		}
	}
	return rec, nil
}

// saveRecord writes the record when it differs from prev, the record as
// loaded. It is written before the operator writes on another cluster, so a
// crash in between leaves nothing unrecorded. A record that never held
// anything is not created.
func (r *Wirer) saveRecord(ctx context.Context, kap *meshv1alpha1.KialiAuthProxy, n render.Names, rec, prev *record) error {
	raw, err := recordJSON(rec)
	if err != nil {
		return err
	}
	prevRaw, err := recordJSON(prev)
	if err != nil {
		return err
	}
	if raw == prevRaw {
		return nil
	}
	cm := &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name: n.RemoteWriteRecord, Namespace: n.Namespace,
			Labels: render.Labels(kap, render.ComponentMetrics),
		},
		Data: map[string]string{recordKey: raw},
	}
	if err := controllerutil.SetControllerReference(kap, cm, r.Scheme); err != nil {
		return err
	}
	_, err = r.Applier.Apply(ctx, cm)
	return err
}

func recordJSON(rec *record) (string, error) {
	sorted := *rec
	sorted.Wirings = append([]wiring(nil), rec.Wirings...)
	sort.Slice(sorted.Wirings, func(i, j int) bool { return sorted.Wirings[i].id() < sorted.Wirings[j].id() })
	sorted.Access = append([]access(nil), rec.Access...)
	sort.SliceStable(sorted.Access, func(i, j int) bool { return sorted.Access[i].Cluster < sorted.Access[j].Cluster })
	raw, err := json.Marshal(sorted)
	return string(raw), err
}
