package deploy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// k8sDoc is one Kubernetes object and the file it came from.
type k8sDoc struct {
	file string
	obj  map[string]any
}

func (d k8sDoc) kind() string { return str(d.obj["kind"]) }
func (d k8sDoc) name() string { return str(get(d.obj, "metadata", "name")) }

// k8sTree is every object, generated ConfigMap/Secret key and patch of the
// kustomizations under k8s/, base and overlays together.
type k8sTree struct {
	docs    []k8sDoc
	seen    map[string]bool
	data    map[string]map[string][]string // ConfigMap/Secret name → key → values, base first
	patches []k8sDoc                       // strategic-merge patches
}

// loadK8s reads every kustomization under k8s/.
func loadK8s(t testing.TB) *k8sTree {
	t.Helper()
	tree := &k8sTree{seen: map[string]bool{}, data: map[string]map[string][]string{}}
	var dirs []string
	err := filepath.WalkDir("k8s", func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return err
	})
	if err != nil || len(dirs) == 0 {
		t.Fatalf("cannot find kustomizations under k8s/: %v", err)
	}
	sort.Strings(dirs) // base before overlays
	for _, d := range dirs {
		tree.load(t, d)
	}
	return tree
}

func (tr *k8sTree) load(t testing.TB, dir string) {
	t.Helper()
	if tr.seen[dir] {
		return
	}
	tr.seen[dir] = true
	k := readYAML(t, filepath.Join(dir, "kustomization.yaml"))[0]
	for _, r := range strList(k["resources"]) {
		p := filepath.Join(dir, r)
		if st, err := os.Stat(p); err != nil {
			t.Fatalf("%s/kustomization.yaml: resource %q: %v", dir, r, err)
		} else if st.IsDir() {
			tr.load(t, p)
			continue
		}
		if tr.seen[p] {
			continue
		}
		tr.seen[p] = true
		for _, d := range readYAML(t, p) {
			tr.docs = append(tr.docs, k8sDoc{file: p, obj: d})
			for _, key := range []string{"data", "stringData"} {
				if m, ok := d[key].(map[string]any); ok {
					for k, v := range m {
						tr.add(str(get(d, "metadata", "name")), k, str(v))
					}
				}
			}
		}
	}
	for _, gen := range append(list(k["configMapGenerator"]), list(k["secretGenerator"])...) {
		name := str(get(gen, "name"))
		for _, l := range strList(get(gen, "literals")) {
			key, v, _ := strings.Cut(l, "=")
			tr.add(name, key, v)
		}
		for _, f := range strList(get(gen, "envs")) {
			p := filepath.Join(dir, f)
			b, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				// Kept out of git; its committed template lists the keys.
				b, err = os.ReadFile(p + ".example")
			}
			if err != nil {
				t.Fatalf("%s/kustomization.yaml: generator %s: %v", dir, name, err)
			}
			for _, l := range strings.Split(string(b), "\n") {
				l = strings.TrimSpace(l)
				if l == "" || strings.HasPrefix(l, "#") {
					continue
				}
				key, v, _ := strings.Cut(l, "=")
				tr.add(name, key, v)
			}
		}
	}
	for _, p := range list(k["patches"]) {
		text := str(get(p, "patch"))
		if f := str(get(p, "path")); f != "" {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatalf("%s/kustomization.yaml: patch %q: %v", dir, f, err)
			}
			text = string(b)
		}
		if strings.HasPrefix(strings.TrimSpace(text), "- op:") {
			continue // JSON 6902: replaces fields, never adds containers or settings
		}
		f, err := os.CreateTemp(t.TempDir(), "patch-*.yaml")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString(text)
		f.Close()
		for _, d := range readYAML(t, f.Name()) {
			tr.patches = append(tr.patches, k8sDoc{file: dir + "/kustomization.yaml patch", obj: d})
		}
	}
}

func (tr *k8sTree) add(name, key, value string) {
	if tr.data[name] == nil {
		tr.data[name] = map[string][]string{}
	}
	tr.data[name][key] = append(tr.data[name][key], value)
}

// k8sPod is a Deployment's pod template and the configs of its clickedge
// containers.
type k8sPod struct {
	deployment string
	labels     map[string]string
	ports      map[string]int // container port name → number
	numbers    map[int]string // container port number → container name
	configs    map[string][]*config
}

func labelsOf(v any) map[string]string {
	m := map[string]string{}
	if x, ok := v.(map[string]any); ok {
		for k, v := range x {
			m[k] = str(v)
		}
	}
	return m
}

// selects reports whether selector ⊆ labels (an empty selector selects nothing).
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// mergeContainer applies strategic-merge patches to a container: env by
// name, args, ports and probes replaced when given.
func (tr *k8sTree) mergeContainer(deployment string, c map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range c {
		out[k] = v
	}
	for _, p := range tr.patches {
		if p.kind() != "Deployment" || p.name() != deployment {
			continue
		}
		for _, pc := range list(get(p.obj, "spec", "template", "spec", "containers")) {
			if str(get(pc, "name")) != str(c["name"]) {
				continue
			}
			for k, v := range pc.(map[string]any) {
				if k != "env" {
					out[k] = v
					continue
				}
				env := list(out["env"])
				for _, e := range list(v) {
					replaced := false
					for i, old := range env {
						if str(get(old, "name")) == str(get(e, "name")) {
							env[i], replaced = e, true
						}
					}
					if !replaced {
						env = append(env, e)
					}
				}
				out["env"] = env
			}
		}
	}
	return out
}

// containerEnvs returns a container's environment in two variants: every
// ConfigMap/Secret key at its first (base) value and at its last (overlay)
// value.
func (tr *k8sTree) containerEnvs(where string, c map[string]any) ([2]map[string]string, []string) {
	envs := [2]map[string]string{{}, {}}
	var errs []string
	for _, ef := range list(c["envFrom"]) {
		name := str(get(ef, "configMapRef", "name")) + str(get(ef, "secretRef", "name"))
		data, ok := tr.data[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: envFrom %q: no such ConfigMap or Secret", where, name))
		}
		for k, vs := range data {
			envs[0][k], envs[1][k] = vs[0], vs[len(vs)-1]
		}
	}
	for _, e := range list(c["env"]) {
		name := str(get(e, "name"))
		v := str(get(e, "value"))
		if ref := str(get(e, "valueFrom", "configMapKeyRef", "name")) + str(get(e, "valueFrom", "secretKeyRef", "name")); ref != "" {
			key := str(get(e, "valueFrom", "configMapKeyRef", "key")) + str(get(e, "valueFrom", "secretKeyRef", "key"))
			if _, ok := tr.data[ref][key]; !ok {
				errs = append(errs, fmt.Sprintf("%s: env %s: no key %q in %q", where, name, key, ref))
			}
		}
		envs[0][name], envs[1][name] = v, v
	}
	return envs, errs
}

// testKubernetes checks the Deployments' clickedge containers (command,
// flags, environment, ports, probes, shutdown timing, spool volume), and that
// Services, the ServiceMonitor, the NetworkPolicy, the autoscaler and the
// disruption budget point at ports and pods that exist.
func testKubernetes(t *testing.T) {
	tr := loadK8s(t)
	var pods []*k8sPod
	for _, d := range tr.docs {
		if d.kind() != "Deployment" {
			continue
		}
		spec := get(d.obj, "spec", "template", "spec")
		pod := &k8sPod{
			deployment: d.name(),
			labels:     labelsOf(get(d.obj, "spec", "template", "metadata", "labels")),
			ports:      map[string]int{},
			numbers:    map[int]string{},
			configs:    map[string][]*config{},
		}
		if !selects(labelsOf(get(d.obj, "spec", "selector", "matchLabels")), pod.labels) {
			t.Errorf("%s: Deployment %s: selector does not match its pod labels", d.file, d.name())
		}
		pods = append(pods, pod)
		for _, raw := range list(get(spec, "containers")) {
			c := tr.mergeContainer(d.name(), raw.(map[string]any))
			where := fmt.Sprintf("%s: Deployment %s container %s", d.file, d.name(), str(c["name"]))
			for _, p := range list(c["ports"]) {
				n, _ := strconv.Atoi(str(get(p, "containerPort")))
				pod.ports[str(get(p, "name"))] = n
				pod.numbers[n] = str(c["name"])
			}
			if !strings.Contains(str(c["image"]), "clickedge") {
				continue
			}
			if cmd := strList(c["command"]); len(cmd) > 0 && (len(cmd) != 1 || cmd[0] != "/clickedge") {
				t.Errorf("%s: command %q; leave it to the image's /clickedge entrypoint", where, cmd)
			}
			envs, errs := tr.containerEnvs(where, c)
			report(t, errs)
			for _, env := range envs {
				cfg, errs := parseArgs(t, where, strList(c["args"]), env)
				report(t, errs)
				if cfg == nil {
					break
				}
				pod.configs[str(c["name"])] = append(pod.configs[str(c["name"])], cfg)
				checkK8sContainer(t, where, spec, c, cfg)
			}
		}
	}
	if len(pods) == 0 {
		t.Fatal("k8s/: no Deployment")
	}
	podFor := func(where string, selector map[string]string) *k8sPod {
		for _, p := range pods {
			if selects(selector, p.labels) {
				return p
			}
		}
		t.Errorf("%s: selector %v matches no Deployment's pods", where, selector)
		return nil
	}
	// resolvePort turns a port name or number into a container port number.
	resolvePort := func(p *k8sPod, port any) int {
		if n, err := strconv.Atoi(str(port)); err == nil {
			if _, ok := p.numbers[n]; ok {
				return n
			}
			return 0
		}
		return p.ports[str(port)]
	}
	// internalPorts are the pod's internal-listener container ports.
	internalPorts := func(p *k8sPod) map[int]bool {
		m := map[int]bool{}
		for _, cfgs := range p.configs {
			for _, c := range cfgs {
				m[c.internalPort()] = true
			}
		}
		return m
	}

	type svcInfo struct {
		labels   map[string]string
		pod      *k8sPod
		ports    map[string]int // service port name → container port
		internal map[string]bool
	}
	var services []svcInfo
	for _, d := range tr.docs {
		where := fmt.Sprintf("%s: %s %s", d.file, d.kind(), d.name())
		switch d.kind() {
		case "Service":
			pod := podFor(where, labelsOf(get(d.obj, "spec", "selector")))
			if pod == nil {
				continue
			}
			si := svcInfo{labels: labelsOf(get(d.obj, "metadata", "labels")), pod: pod, ports: map[string]int{}, internal: map[string]bool{}}
			for _, p := range list(get(d.obj, "spec", "ports")) {
				target := get(p, "targetPort")
				if target == nil {
					target = get(p, "port")
				}
				n := resolvePort(pod, target)
				if n == 0 {
					t.Errorf("%s: port %v targets %v, which pods of %s do not have (%v)", where, get(p, "name"), target, pod.deployment, pod.ports)
					continue
				}
				si.ports[str(get(p, "name"))] = n
				si.internal[str(get(p, "name"))] = internalPorts(pod)[n]
			}
			services = append(services, si)
		case "NetworkPolicy":
			pod := podFor(where, labelsOf(get(d.obj, "spec", "podSelector", "matchLabels")))
			if pod == nil {
				continue
			}
			for _, rule := range list(get(d.obj, "spec", "ingress")) {
				for _, p := range list(get(rule, "ports")) {
					n := resolvePort(pod, get(p, "port"))
					if n == 0 {
						t.Errorf("%s: port %v is no container port of %s (%v)", where, get(p, "port"), pod.deployment, pod.ports)
					}
					if internalPorts(pod)[n] && len(list(get(rule, "from"))) == 0 {
						t.Errorf("%s: admits everyone to the internal port %d; keep it private with a from clause", where, n)
					}
				}
				if len(list(get(rule, "ports"))) == 0 {
					t.Errorf("%s: an ingress rule without ports admits the internal port too", where)
				}
			}
		case "HorizontalPodAutoscaler":
			if ref := str(get(d.obj, "spec", "scaleTargetRef", "name")); !hasDeployment(pods, ref) {
				t.Errorf("%s: scales %q, which is no Deployment", where, ref)
			}
		case "PodDisruptionBudget":
			podFor(where, labelsOf(get(d.obj, "spec", "selector", "matchLabels")))
		}
	}
	var monitors int
	for _, d := range tr.docs {
		if d.kind() != "ServiceMonitor" {
			continue
		}
		monitors++
		where := fmt.Sprintf("%s: ServiceMonitor %s", d.file, d.name())
		sel := labelsOf(get(d.obj, "spec", "selector", "matchLabels"))
		var matched int
		for _, s := range services {
			if !selects(sel, s.labels) {
				continue
			}
			matched++
			for _, ep := range list(get(d.obj, "spec", "endpoints")) {
				name := str(get(ep, "port"))
				if _, ok := s.ports[name]; !ok {
					t.Errorf("%s: endpoint port %q is not a port of a selected Service (%v)", where, name, s.ports)
				} else if !s.internal[name] {
					t.Errorf("%s: endpoint port %q is not the internal listener, where /metrics is", where, name)
				}
				path := str(get(ep, "path"))
				if path == "" {
					path = "/metrics"
				}
				for _, cfgs := range s.pod.configs {
					addProbePath(cfgs[0].cmd.name, path)
				}
			}
		}
		if matched == 0 {
			t.Errorf("%s: selects no Service", where)
		}
	}
	if monitors == 0 {
		t.Error("k8s/: no ServiceMonitor")
	}
	for _, p := range pods {
		for _, cfgs := range p.configs {
			var scraped bool
			for _, s := range services {
				for name := range s.ports {
					scraped = scraped || s.pod == p && s.internal[name]
				}
			}
			if !scraped {
				t.Errorf("k8s/: Deployment %s (clickedge %s) has no Service on its internal listener to scrape", p.deployment, cfgs[0].cmd.name)
			}
		}
	}
}

func hasDeployment(pods []*k8sPod, name string) bool {
	for _, p := range pods {
		if p.deployment == name {
			return true
		}
	}
	return false
}

// checkK8sContainer checks one clickedge container against its effective
// configuration.
func checkK8sContainer(t *testing.T, where string, podSpec any, c map[string]any, cfg *config) {
	t.Helper()
	listen := cfg.listenPorts()
	names := map[string]int{}
	for _, p := range list(c["ports"]) {
		n, _ := strconv.Atoi(str(get(p, "containerPort")))
		names[str(get(p, "name"))] = n
		if _, ok := listen[n]; !ok {
			t.Errorf("%s: containerPort %d, but clickedge %s listens on %v", where, n, cfg.cmd.name, listen)
		}
	}
	for p, flag := range listen {
		if !containsInt(mapValues(names), p) {
			t.Errorf("%s: no containerPort for %d (-%s)", where, p, flag)
		}
	}
	for _, kind := range []string{"readinessProbe", "livenessProbe"} {
		probe := get(c, kind, "httpGet")
		if probe == nil {
			t.Errorf("%s: no %s with httpGet", where, kind)
			continue
		}
		port := str(get(probe, "port"))
		n, err := strconv.Atoi(port)
		if err != nil {
			n = names[port]
		}
		if n != cfg.internalPort() {
			t.Errorf("%s: %s on port %q (%d); want the internal listener %d", where, kind, port, n, cfg.internalPort())
		}
		path := str(get(probe, "path"))
		if want := map[string]string{"readinessProbe": "/ready", "livenessProbe": "/health"}[kind]; path != want {
			t.Errorf("%s: %s path %q; want %q", where, kind, path, want)
		}
		addProbePath(cfg.cmd.name, path)
	}
	if get(c, "lifecycle", "preStop", "exec") != nil {
		t.Errorf("%s: preStop exec; the distroless image has no shell or sleep, use the sleep action", where)
	}
	if cfg.cmd.name == "serve" {
		preStop := time.Duration(atoi(get(c, "lifecycle", "preStop", "sleep", "seconds"))) * time.Second
		grace := time.Duration(atoi(get(podSpec, "terminationGracePeriodSeconds"))) * time.Second
		if grace == 0 {
			grace = 30 * time.Second
		}
		need := preStop + cfg.duration("http.shutdownDelay") + edgeDrainBound
		if preStop == 0 {
			t.Errorf("%s: no preStop sleep: pods would stop listening before endpoints are updated", where)
		}
		if grace <= need {
			t.Errorf("%s: terminationGracePeriodSeconds %v; want more than preStop %v + -http.shutdownDelay %v + drains %v",
				where, grace, preStop, cfg.duration("http.shutdownDelay"), edgeDrainBound)
		}
		dir := cfg.value("spool.dir")
		var mounted bool
		for _, m := range list(c["volumeMounts"]) {
			mounted = mounted || dir != "" && str(get(m, "mountPath")) == dir
		}
		if !mounted {
			t.Errorf("%s: -spool.dir %q is not a mounted volume; click events need a writable spool", where, dir)
		}
	}
	if get(c, "securityContext", "readOnlyRootFilesystem") != true || get(podSpec, "securityContext", "runAsNonRoot") != true {
		t.Errorf("%s: want readOnlyRootFilesystem and runAsNonRoot", where)
	}
}

func atoi(v any) int {
	n, _ := strconv.Atoi(str(v))
	return n
}

func mapValues(m map[string]int) []int {
	var out []int
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
