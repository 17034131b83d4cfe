package plugin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
)

// managerLabels select the manager's Deployment (config/manager).
var managerLabels = client.MatchingLabels{"app.kubernetes.io/name": "orgrbac", "app.kubernetes.io/component": "manager"}

// leaseName is the manager's leader-election lease (cmd: LeaderElectionID).
const leaseName = "manager.orgrbac.dev"

// kindStatus counts the objects of one kind by readiness.
type kindStatus struct {
	Kind     string `json:"kind"`
	Total    int    `json:"total"`
	Ready    int    `json:"ready"`
	NotReady int    `json:"notReady"`
	// Pending counts objects whose status was not computed for their latest
	// generation yet (no Ready condition, or an older observedGeneration).
	Pending int `json:"pending"`
}

// problem is an object with a condition that is not True.
type problem struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// environmentStatus is the health of one environment.
type environmentStatus struct {
	Namespace   string `json:"namespace"`
	Environment string `json:"environment,omitempty"`
	// Revision is the published snapshot's revision (0: never published).
	Revision            int64    `json:"revision"`
	PublishedConfigMaps []string `json:"publishedConfigMaps,omitempty"`
	// PublishedAt is when the published ConfigMaps were last written, when the
	// caller may read them.
	PublishedAt *metav1.Time `json:"publishedAt,omitempty"`
	// PublishedAge is PublishedAt as an age ("35s").
	PublishedAge string       `json:"publishedAge,omitempty"`
	Kinds        []kindStatus `json:"kinds"`
	// Duplicates are the objects that lost to an older one with the same identity.
	Duplicates []problem `json:"duplicates"`
	// Unresolved are the objects naming slugs that resolve to nothing
	// (ReferencesResolved=False).
	Unresolved []problem `json:"unresolved"`
	// NotReady are the other objects that are not Ready.
	NotReady []problem `json:"notReady"`
}

// managerStatus is what the caller may see of the manager.
type managerStatus struct {
	Deployments []deploymentStatus `json:"deployments"`
	// Leader is the holder of the leader-election lease, when one is found.
	Leader string `json:"leader,omitempty"`
	// LeaseRenewedAge is the age of the lease's last renewal.
	LeaseRenewedAge string `json:"leaseRenewedAge,omitempty"`
	// Note explains what could not be read.
	Note string `json:"note,omitempty"`
}

type deploymentStatus struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Replicas  int32  `json:"replicas"`
	Ready     int32  `json:"ready"`
	Updated   int32  `json:"updated"`
}

// statusReport is status's answer.
type statusReport struct {
	Environments []environmentStatus `json:"environments"`
	Manager      managerStatus       `json:"manager"`
}

func (o *options) statusCommand() *cobra.Command {
	var all bool
	var managerNS string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the health of orgrbac: readiness of every kind, duplicates, unresolved slugs, publication, manager replicas",
		Long: `status shows, per environment (the namespace in effect, or every namespace holding
orgrbac objects with -A): how many objects of each kind are Ready, the duplicates,
the objects naming slugs that resolve to nothing, the other objects that are not
Ready, and the published snapshot's revision and age; then the manager's
Deployment replicas and its leader.`,
		Example: `  kubectl orgrbac status -n videos
  kubectl orgrbac status -A -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			namespaces, err := covered(ctx, c, ns, all)
			if err != nil {
				return err
			}
			var rep statusReport
			for _, ns := range namespaces {
				objs, err := load(ctx, c, ns, catalogKinds)
				if err != nil {
					return err
				}
				rep.Environments = append(rep.Environments, o.environmentStatus(ctx, c, objs))
			}
			rep.Manager = o.managerStatus(ctx, c, managerNS)
			if done, err := o.structured(rep); done || err != nil {
				return err
			}
			o.printStatus(rep)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "Every namespace that holds orgrbac objects")
	cmd.Flags().StringVar(&managerNS, "manager-namespace", "orgrbac-system",
		"Where to look for the manager when you may not list Deployments in every namespace")
	o.addOutputFlag(cmd)
	return cmd
}

// covered returns the namespaces a command covers: ns, or with -A (all) every
// namespace holding orgrbac objects (environmentNamespaces).
func covered(ctx context.Context, c client.Reader, ns string, all bool) ([]string, error) {
	if !all {
		return []string{ns}, nil
	}
	return environmentNamespaces(ctx, c)
}

// environmentNamespaces returns the sorted namespaces holding an Environment, a
// Role or a Membership.
func environmentNamespaces(ctx context.Context, c client.Reader) ([]string, error) {
	seen := map[string]bool{}
	for _, l := range []client.ObjectList{&orgrbacv1alpha1.EnvironmentList{}, &orgrbacv1alpha1.RoleList{}, &orgrbacv1alpha1.MembershipList{}} {
		if err := c.List(ctx, l); err != nil {
			return nil, fmt.Errorf("listing orgrbac objects in every namespace: %w", err)
		}
		switch l := l.(type) {
		case *orgrbacv1alpha1.EnvironmentList:
			for _, x := range l.Items {
				seen[x.Namespace] = true
			}
		case *orgrbacv1alpha1.RoleList:
			for _, x := range l.Items {
				seen[x.Namespace] = true
			}
		case *orgrbacv1alpha1.MembershipList:
			for _, x := range l.Items {
				seen[x.Namespace] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for ns := range seen {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out, nil
}

// statused is an object with a generation and conditions.
type statused struct {
	kind, name         string
	generation, served int64
	conds              []metav1.Condition
}

func (objs *objects) statused() [][]statused {
	var envs, perms, roles, orgs, oroles, gms, ms []statused
	for _, x := range objs.environments {
		envs = append(envs, statused{"Environment", x.Name, x.Generation, x.Status.ObservedGeneration, x.Status.Conditions})
	}
	for _, x := range objs.permissions {
		perms = append(perms, statused{"Permission", x.Name, x.Generation, x.Status.ObservedGeneration, x.Status.Conditions})
	}
	for _, x := range objs.roles {
		roles = append(roles, statused{"Role", x.Name, x.Generation, x.Status.ObservedGeneration, x.Status.Conditions})
	}
	for _, x := range objs.organizations {
		orgs = append(orgs, statused{"Organization", x.Name, x.Generation, x.Status.ObservedGeneration, x.Status.Conditions})
	}
	for _, x := range objs.organizationRoles {
		oroles = append(oroles, statused{"OrganizationRole", x.Name, x.Generation, x.Status.ObservedGeneration, x.Status.Conditions})
	}
	for _, x := range objs.groupMappings {
		gms = append(gms, statused{"GroupMapping", x.Name, x.Generation, x.Status.ObservedGeneration, x.Status.Conditions})
	}
	for _, x := range objs.memberships {
		ms = append(ms, statused{"Membership", x.Name, x.Generation, x.Status.ObservedGeneration, x.Status.Conditions})
	}
	return [][]statused{envs, perms, roles, orgs, oroles, gms, ms}
}

var kindOrder = []string{"Environment", "Permission", "Role", "Organization", "OrganizationRole", "GroupMapping", "Membership"}

func (o *options) environmentStatus(ctx context.Context, c client.Reader, objs *objects) environmentStatus {
	st := environmentStatus{Namespace: objs.namespace, Duplicates: []problem{}, Unresolved: []problem{}, NotReady: []problem{}}
	for i, list := range objs.statused() {
		ks := kindStatus{Kind: kindOrder[i], Total: len(list)}
		for _, x := range list {
			readyCond := condition(x.conds, orgrbacv1alpha1.ConditionReady)
			switch {
			case readyCond == nil || x.served < x.generation:
				ks.Pending++
			case readyCond.Status == metav1.ConditionTrue:
				ks.Ready++
			default:
				ks.NotReady++
			}
			if readyCond != nil && readyCond.Status != metav1.ConditionTrue {
				p := problem{Kind: x.kind, Name: x.name, Reason: readyCond.Reason, Message: readyCond.Message}
				if readyCond.Reason == orgrbacv1alpha1.ReasonDuplicate {
					st.Duplicates = append(st.Duplicates, p)
				} else {
					st.NotReady = append(st.NotReady, p)
				}
			}
			if rc := condition(x.conds, orgrbacv1alpha1.ConditionReferencesResolved); rc != nil && rc.Status == metav1.ConditionFalse {
				st.Unresolved = append(st.Unresolved, problem{Kind: x.kind, Name: x.name, Reason: rc.Reason, Message: rc.Message})
			}
		}
		st.Kinds = append(st.Kinds, ks)
	}
	// The winning Environment records the publication.
	var winner *orgrbacv1alpha1.Environment
	for i := range objs.environments {
		e := &objs.environments[i]
		if e.Status.Revision > st.Revision || winner == nil {
			winner = e
			st.Revision = max(st.Revision, e.Status.Revision)
		}
	}
	if winner != nil {
		st.Environment = winner.Name
		st.PublishedConfigMaps = winner.Status.PublishedConfigMaps
	}
	if len(st.PublishedConfigMaps) > 0 {
		if t := publishedAt(ctx, c, objs.namespace, st.PublishedConfigMaps); t != nil {
			st.PublishedAt = t
			st.PublishedAge = age(o.now(), t.Time)
		}
	}
	return st
}

// publishedAt is when the published ConfigMaps were last written: the newest
// time their managed fields record (the manager writes them only when the
// snapshot changes). Nil when they cannot be read.
func publishedAt(ctx context.Context, c client.Reader, ns string, names []string) *metav1.Time {
	var newest *metav1.Time
	for _, name := range names {
		var cm corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &cm); err != nil {
			return nil
		}
		t := cm.CreationTimestamp
		for _, f := range cm.ManagedFields {
			if f.Time != nil && f.Time.After(t.Time) {
				t = *f.Time
			}
		}
		if newest == nil || t.After(newest.Time) {
			newest = &t
		}
	}
	return newest
}

// age formats the time since t as kubectl's AGE column does.
func age(now, t time.Time) string {
	return duration.HumanDuration(now.Sub(t))
}

func (o *options) managerStatus(ctx context.Context, c client.Reader, fallbackNS string) managerStatus {
	ms := managerStatus{Deployments: []deploymentStatus{}}
	var deps appsv1.DeploymentList
	err := c.List(ctx, &deps, managerLabels)
	if apierrors.IsForbidden(err) {
		err = c.List(ctx, &deps, managerLabels, client.InNamespace(fallbackNS))
	}
	if err != nil {
		ms.Note = "the manager's Deployment could not be read: " + reasonOf(err)
		return ms
	}
	for _, d := range deps.Items {
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		ms.Deployments = append(ms.Deployments, deploymentStatus{Namespace: d.Namespace, Name: d.Name,
			Replicas: want, Ready: d.Status.ReadyReplicas, Updated: d.Status.UpdatedReplicas})
	}
	if len(ms.Deployments) == 0 {
		ms.Note = "no manager Deployment found (labels app.kubernetes.io/name=orgrbac, app.kubernetes.io/component=manager): " +
			"a manager running out of the cluster (make run) has none"
		return ms
	}
	var lease coordinationv1.Lease
	if err := c.Get(ctx, client.ObjectKey{Namespace: ms.Deployments[0].Namespace, Name: leaseName}, &lease); err == nil {
		if lease.Spec.HolderIdentity != nil {
			ms.Leader = *lease.Spec.HolderIdentity
		}
		if lease.Spec.RenewTime != nil {
			ms.LeaseRenewedAge = age(o.now(), lease.Spec.RenewTime.Time)
		}
	} else if !apierrors.IsNotFound(err) {
		ms.Note = "the leader-election lease could not be read: " + reasonOf(err)
	}
	return ms
}

// reasonOf is a short form of an API error.
func reasonOf(err error) string {
	if apierrors.IsForbidden(err) {
		return "forbidden"
	}
	return err.Error()
}

func (o *options) printStatus(rep statusReport) {
	for i, st := range rep.Environments {
		if i > 0 {
			o.printf("\n")
		}
		env := st.Environment
		if env == "" {
			env = "(no Environment object: defaults apply)"
		}
		o.printf("Namespace %s, environment %s\n", st.Namespace, env)
		switch {
		case st.Revision == 0:
			o.printf("  Published: not yet\n")
		case st.PublishedAge != "":
			o.printf("  Published: revision %d, %s ago, in %s\n", st.Revision, st.PublishedAge, strings.Join(st.PublishedConfigMaps, ", "))
		default:
			o.printf("  Published: revision %d, in %s\n", st.Revision, strings.Join(st.PublishedConfigMaps, ", "))
		}
		w := o.table()
		_, _ = fmt.Fprintln(w, "  KIND\tTOTAL\tREADY\tNOT READY\tPENDING")
		for _, k := range st.Kinds {
			_, _ = fmt.Fprintf(w, "  %s\t%d\t%d\t%d\t%d\n", k.Kind, k.Total, k.Ready, k.NotReady, k.Pending)
		}
		_ = w.Flush()
		o.printProblems("Duplicates", st.Duplicates)
		o.printProblems("Unresolved references", st.Unresolved)
		o.printProblems("Not Ready", st.NotReady)
	}
	o.printf("\nManager:\n")
	for _, d := range rep.Manager.Deployments {
		o.printf("  Deployment %s/%s: %d/%d replicas ready, %d up to date\n", d.Namespace, d.Name, d.Ready, d.Replicas, d.Updated)
	}
	if rep.Manager.Leader != "" {
		renewed := ""
		if rep.Manager.LeaseRenewedAge != "" {
			renewed = " (lease renewed " + rep.Manager.LeaseRenewedAge + " ago)"
		}
		o.printf("  Leader: %s%s\n", rep.Manager.Leader, renewed)
	}
	if rep.Manager.Note != "" {
		o.printf("  %s\n", rep.Manager.Note)
	}
}

func (o *options) printProblems(title string, ps []problem) {
	if len(ps) == 0 {
		o.printf("  %s: none\n", title)
		return
	}
	o.printf("  %s:\n", title)
	w := o.table()
	for _, p := range ps {
		_, _ = fmt.Fprintf(w, "    %s/%s\t%s\t%s\n", p.Kind, p.Name, p.Reason, p.Message)
	}
	_ = w.Flush()
}
