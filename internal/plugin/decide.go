package plugin

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	orgrbacv1alpha1 "github.com/orgrbac/orgrbac/api/v1alpha1"
	"github.com/orgrbac/orgrbac/internal/apiview"
	"github.com/orgrbac/orgrbac/internal/resolve"
)

// table returns a tab writer laid out as kubectl's tables.
func (o *options) table() *tabwriter.Writer {
	return tabwriter.NewWriter(o.out(), 6, 4, 3, ' ', 0)
}

// checkResult is can-i's answer: the shape of the decision API's POST /v1/check.
type checkResult struct {
	Allowed bool     `json:"allowed"`
	Role    string   `json:"role"`
	Roles   []string `json:"roles"`
	Reason  string   `json:"reason"`
	Missing []string `json:"missing,omitempty"`
}

func (o *options) canICommand() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "can-i ORG USER PERMISSION [PERMISSION...]",
		Short: "Check whether a user may do something in an organization (exit code 0: yes, 1: no)",
		Long: `can-i answers as the decision API's POST /v1/check does: yes when the user's membership
of the organization (its name or externalID) is Active and Ready and holds every
permission, as its status says and as its roles are defined now.

Exit codes: 0 yes, 1 no, 2 error.`,
		Example: `  kubectl orgrbac can-i acme user_alice videos:delete -n videos`,
		Args:    cobra.MinimumNArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			objs, err := load(cmd.Context(), c, ns, decisionKinds)
			if err != nil {
				return err
			}
			d := newView(objs).check(args[0], args[1], args[2:])
			res := checkResult{Allowed: d.Allowed, Role: d.Role, Roles: d.Roles, Reason: d.Reason, Missing: d.Missing}
			if res.Roles == nil {
				res.Roles = []string{}
			}
			if done, err := o.structured(res); done || err != nil {
				if err == nil && !d.Allowed {
					err = errNo
				}
				return err
			}
			if !quiet {
				o.printf("%s\n", canIText(d))
			}
			if !d.Allowed {
				return errNo
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "Print nothing: answer with the exit code only")
	o.addOutputFlag(cmd)
	return cmd
}

// canIText is can-i's one-line answer, as kubectl auth can-i's: yes, or no with
// the reason.
func canIText(d resolve.Decision) string {
	if d.Allowed {
		return "yes"
	}
	s := "no - " + d.Reason
	if len(d.Missing) > 0 {
		s += " (missing " + strings.Join(d.Missing, ", ")
		if d.Role != "" {
			s += "; role " + d.Role
		}
		s += ")"
	} else if d.Role != "" {
		s += " (role " + d.Role + ")"
	}
	return s
}

// explanation is explain's answer: the decision API's
// GET /v1/organizations/{org}/memberships/{user}, plus the roles the role-cleanup
// finalizer removed.
type explanation = apiview.Membership

func (o *options) explainCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain ORG USER",
		Short: "Show a membership's roles, where each comes from, and which role grants each permission",
		Long: `explain shows what the decision API's GET /v1/organizations/{org}/memberships/{user}
shows: the membership's effective roles with their source (a Directory or SSO group
mapping, a Manual assignment, or the Default role), and for each permission the
roles that grant it.`,
		Example: `  kubectl orgrbac explain acme user_alice -n videos`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			objs, err := load(cmd.Context(), c, ns, decisionKinds)
			if err != nil {
				return err
			}
			v := newView(objs)
			org := v.organization(args[0])
			if org == nil {
				return fmt.Errorf("no organization %q in namespace %q", args[0], ns)
			}
			m := v.member(org, args[1])
			if m == nil {
				return fmt.Errorf("user %q is not a member of organization %q in namespace %q", args[1], org.Name(), ns)
			}
			e := v.explain(org, m)
			if done, err := o.structured(e); done || err != nil {
				return err
			}
			o.printExplanation(e)
			return nil
		},
	}
	o.addOutputFlag(cmd)
	return cmd
}

// explain builds the explanation of membership m of organization org.
func (v *view) explain(org *resolve.OrgView, m *orgrbacv1alpha1.Membership) explanation {
	r := resolved(m)
	state := m.Spec.State
	if state == "" {
		state = orgrbacv1alpha1.MembershipActive
	}
	e := explanation{Namespace: v.objs.namespace, Organization: org.Name(), OrganizationID: v.organizationID(org.Name()),
		User: m.Spec.User, Email: m.Spec.Email, Membership: m.Name, State: string(state), Ready: r.Ready,
		Active: r.Grants(), Role: m.Status.Role, Roles: append([]string{}, m.Status.Roles...), Source: string(m.Status.Source)}
	if c := condition(m.Status.Conditions, orgrbacv1alpha1.ConditionReady); c != nil {
		e.Reason = c.Reason
	}
	e.SetGrants(org, m.Status.Assignments, r.Permissions)
	if removed := m.Annotations[orgrbacv1alpha1.AnnotationRemovedRoles]; removed != "" {
		e.RemovedRoles = strings.Split(removed, ",")
	}
	return e
}

// describeGrant is a role with its provenance: "admin (Directory group eng)".
func describeGrant(g apiview.Grant) string {
	switch {
	case g.Group != "":
		return fmt.Sprintf("%s (%s group %s)", g.Role, g.Source, g.Group)
	case g.Source != "":
		return fmt.Sprintf("%s (%s)", g.Role, g.Source)
	}
	return g.Role
}

func (o *options) printExplanation(e explanation) {
	w := o.table()
	_, _ = fmt.Fprintf(w, "Membership:\t%s (namespace %s)\n", e.Membership, e.Namespace)
	org := e.Organization
	if e.OrganizationID != e.Organization {
		org += " (" + e.OrganizationID + ")"
	}
	_, _ = fmt.Fprintf(w, "Organization:\t%s\n", org)
	user := e.User
	if e.Email != "" {
		user += " <" + e.Email + ">"
	}
	_, _ = fmt.Fprintf(w, "User:\t%s\n", user)
	_, _ = fmt.Fprintf(w, "State:\t%s\n", e.State)
	readiness := "False"
	if e.Ready {
		readiness = "True"
	}
	if e.Reason != "" {
		readiness += " (" + e.Reason + ")"
	}
	_, _ = fmt.Fprintf(w, "Ready:\t%s\n", readiness)
	grants := "yes"
	if !e.Active {
		grants = "no: only Active, Ready memberships grant permissions"
	}
	_, _ = fmt.Fprintf(w, "Grants permissions:\t%s\n", grants)
	if len(e.RemovedRoles) > 0 {
		_, _ = fmt.Fprintf(w, "Removed roles:\t%s (deleted roles taken out of spec.roles)\n", strings.Join(e.RemovedRoles, ", "))
	}
	_ = w.Flush()

	o.printf("\nRoles (highest priority first):\n")
	if len(e.Assignments) == 0 {
		o.printf("  none\n")
	} else {
		w = o.table()
		_, _ = fmt.Fprintln(w, "  ROLE\tSOURCE\tGROUP")
		for _, a := range e.Assignments {
			_, _ = fmt.Fprintf(w, "  %s\t%s\t%s\n", a.Role, a.Source, dash(a.Group))
		}
		_ = w.Flush()
	}

	o.printf("\nPermissions:\n")
	if len(e.Permissions) == 0 {
		o.printf("  none\n")
		return
	}
	w = o.table()
	_, _ = fmt.Fprintln(w, "  PERMISSION\tGRANTED BY")
	for _, p := range e.Permissions {
		by := make([]string, 0, len(p.GrantedBy))
		for _, g := range p.GrantedBy {
			by = append(by, describeGrant(g))
		}
		_, _ = fmt.Fprintf(w, "  %s\t%s\n", p.Permission, dash(strings.Join(by, ", ")))
	}
	_ = w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (o *options) whoCanCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "who-can ORG PERMISSION",
		Short: "List the members of an organization who hold a permission, with the role that grants it",
		Long: `who-can lists what the decision API's GET /v1/organizations/{org}/permissions/{permission}/members
lists: the Active, Ready members holding the permission, sorted by user, with the
roles that grant it (highest priority first) and where the first one comes from.`,
		Example: `  kubectl orgrbac who-can acme videos:delete -n videos`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.client()
			if err != nil {
				return err
			}
			objs, err := load(cmd.Context(), c, ns, decisionKinds)
			if err != nil {
				return err
			}
			v := newView(objs)
			org := v.organization(args[0])
			if org == nil {
				return fmt.Errorf("no organization %q in namespace %q", args[0], ns)
			}
			p := args[1]
			res := apiview.Holders{Namespace: ns, Organization: org.Name(), OrganizationID: v.organizationID(org.Name()),
				Permission: p, Members: []apiview.Holder{}}
			for _, m := range v.holders(org, p) {
				h := apiview.NewHolder(org, m.Spec.User, m.Name, m.Status.Roles, p)
				for _, a := range m.Status.Assignments {
					if a.Role == h.Role {
						h.Source, h.Group = string(a.Source), a.Group
						break
					}
				}
				res.Members = append(res.Members, h)
			}
			if done, err := o.structured(res); done || err != nil {
				return err
			}
			if len(res.Members) == 0 {
				o.printf("No active member of organization %s holds %s.\n", res.Organization, p)
				return nil
			}
			w := o.table()
			_, _ = fmt.Fprintln(w, "USER\tMEMBERSHIP\tROLE\tSOURCE\tGROUP")
			for _, h := range res.Members {
				_, _ = fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", h.User, h.Membership, h.Role, dash(h.Source), dash(h.Group))
			}
			return w.Flush()
		},
	}
	o.addOutputFlag(cmd)
	return cmd
}
