package render

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	meshv1alpha1 "github.com/kialiauth/kiali-auth-proxy-operator/api/v1alpha1"
)

// Kiali's access to a cluster of spec.clusters with kialiAccess Managed:
// what the operator makes on that cluster, and the remote-cluster Secret
// it writes at the hub for each token.

// Labels and annotation by which Kiali knows a remote-cluster Secret
// (kiali/kiali kubernetes/client_factory.go and the Kiali operator's
// kiali-prepare-remote-cluster.sh).
const (
	KialiMultiClusterLabel     = "kiali.io/multiCluster"
	KialiClusterAnnotation     = "kiali.io/cluster"
	kialiMultiClusterLabelTrue = "true"
)

// RemoteAccess is Kiali's identity on one remote cluster: a ServiceAccount
// in the cluster's Istio namespace (every mesh cluster has it) and a
// ClusterRole with the permissions the Kiali operator gives Kiali,
// bound to it.
type RemoteAccess struct {
	ServiceAccount     *corev1.ServiceAccount
	ClusterRole        *rbacv1.ClusterRole
	ClusterRoleBinding *rbacv1.ClusterRoleBinding
	// Role and RoleBinding give Kiali v1.73 the Istio CA Secrets it
	// reads; nil for v2.
	Role        *rbacv1.Role
	RoleBinding *rbacv1.RoleBinding
	// Permissions are what the roles grant, for the check that Kiali's
	// credentials have them.
	Permissions []Permission
}

// Objects are the objects of the access, in the order they are made.
func (a RemoteAccess) Objects() []client.Object {
	objs := []client.Object{a.ServiceAccount, a.ClusterRole, a.ClusterRoleBinding}
	if a.Role != nil {
		objs = append(objs, a.Role, a.RoleBinding)
	}
	return objs
}

// RemoteAccessFor is Kiali's access for the plan's Kiali on any cluster:
// the objects are the same on each, as the role depends only on the Kiali
// version and view-only mode.
func RemoteAccessFor(p Plan) RemoteAccess {
	d, n := p.KAP, p.Names
	labels := Labels(d, ComponentRemoteAccess)
	ns := d.Spec.Kiali.IstioNamespace
	viewOnly := d.Spec.Kiali.ViewOnlyMode != nil && *d.Spec.Kiali.ViewOnlyMode
	role := KialiRoleFor(d.Spec.Kiali.Version, viewOnly)
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: n.RemoteKiali}}
	a := RemoteAccess{
		Permissions: role.Permissions(),
		ServiceAccount: &corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n.RemoteKiali, Labels: labels},
		},
		ClusterRole: &rbacv1.ClusterRole{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: n.RemoteKiali, Labels: labels,
				Annotations: map[string]string{RoleSourceAnnotation: role.Source}},
			Rules: role.Rules,
		},
		ClusterRoleBinding: &rbacv1.ClusterRoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: n.RemoteKiali, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: n.RemoteKiali},
			Subjects:   subjects,
		},
	}
	if len(role.ControlPlaneSecrets) > 0 {
		a.Role = &rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n.RemoteKiali, Labels: labels},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
				ResourceNames: role.ControlPlaneSecrets, Verbs: readVerbs}},
		}
		a.RoleBinding = &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n.RemoteKiali, Labels: labels},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: n.RemoteKiali},
			Subjects:   subjects,
		}
	}
	return a
}

// RoleSourceAnnotation, on the ClusterRole, names the Kiali operator role
// its rules come from.
const RoleSourceAnnotation = "mesh.kialiauth.io/rules-from"

// TokenAnchor is the Secret on the remote cluster that the token with the
// given suffix is bound to (TokenRequest's boundObjectRef): it holds
// nothing, and deleting it makes the API server refuse the token at once
// (k8s.io/kubernetes pkg/serviceaccount/claims.go checks that the bound
// Secret still exists with the same UID), long before it expires.
func TokenAnchor(p Plan, suffix string) *corev1.Secret {
	immutable := true
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: p.KAP.Spec.Kiali.IstioNamespace,
			Name:      p.Names.RemoteKiali + "-" + suffix,
			Labels:    Labels(p.KAP, ComponentRemoteAccess),
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: &immutable,
	}
}

// KialiRemoteSecretName is the hub Secret of the token with the given
// suffix.
func KialiRemoteSecretName(c meshv1alpha1.ClusterSpec, suffix string) string {
	return c.KialiSecret + "-" + suffix
}

// KialiRemoteSecret is Kiali's remote-cluster Secret for one token, in the
// form Kiali reads: the label and annotation above, and the kubeconfig
// under the cluster's name. It is immutable: a new token is a new Secret,
// which the Kiali CR then names, and the Kiali operator rolls Kiali to it
// (a changed volume), as Kiali builds its remote clients once.
func KialiRemoteSecret(p Plan, c meshv1alpha1.ClusterSpec, suffix string, kubeconfig []byte) *corev1.Secret {
	immutable := true
	labels := Labels(p.KAP, ComponentRemoteAccess)
	labels[KialiMultiClusterLabel] = kialiMultiClusterLabelTrue
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   p.Names.Namespace,
			Name:        KialiRemoteSecretName(c, suffix),
			Labels:      labels,
			Annotations: map[string]string{KialiClusterAnnotation: c.Name},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: &immutable,
		Data:      map[string][]byte{c.Name: kubeconfig},
	}
}

// KialiKubeconfig is the kubeconfig Kiali reads for a cluster: one
// cluster, user and context, all named after the cluster (Kiali takes the
// cluster's name from the kubeconfig's cluster entry), with the token
// inline and the API server's CA.
func KialiKubeconfig(cluster, server string, caData []byte, token string) ([]byte, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters[cluster] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData}
	kc.AuthInfos[cluster] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts[cluster] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: cluster}
	kc.CurrentContext = cluster
	return clientcmd.Write(*kc)
}
