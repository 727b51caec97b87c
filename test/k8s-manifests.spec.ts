/**
 * Static checks of the deployment files: every manifest under k8s/ is valid against the Kubernetes OpenAPI
 * schemas (kubernetes-models), matches what CONTRACT.md and the apps expect (ports, probes, shutdown budget,
 * scrape annotations, non-root), and the Grafana dashboard covers every metric of CONTRACT.md section 6.
 * Needs no cluster, Redis or PostgreSQL.
 */
import 'reflect-metadata';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
// The plain files, not the @app/* barrels: those also export Nest modules, which this static check does not need.
import { loadCollections } from '../libs/collections/src/collections.loader';
import { validate as validateEnv } from '../libs/config/src/env.schema';
import { APP_NODE_FLAGS } from '../tools/local-stack/project';

const ROOT = resolve(__dirname, '..');
const K8S_DIR = join(ROOT, 'k8s');
const NAMESPACE = 'spillway';
const COLLECTIONS_MOUNT = '/app/config/collections';

/** CONTRACT.md section 6. */
const CONTRACT_METRICS = [
  'spillway_ingest_requests_total',
  'spillway_ingest_request_duration_seconds',
  'spillway_ingest_writes_total',
  'spillway_sink_entries_total',
  'spillway_sink_batch_size',
  'spillway_sink_write_duration_seconds',
  'spillway_sink_lag_seconds',
  'spillway_stream_length',
  'spillway_stream_pending',
  'spillway_stream_backlog',
  'spillway_dlq_length',
  'spillway_sink_reclaimed_total',
  'spillway_sink_retries_total',
];

/** CONTRACT.md section 8: the settings a ConfigMap or Secret may carry. */
const KNOWN_SETTINGS = new Set([
  'REDIS_URL',
  'DATABASE_URL',
  'PORT',
  'COLLECTIONS_DIR',
  'LOG_LEVEL',
  'INGEST_API_KEYS',
  'INGEST_MAX_BODY',
  'INGEST_MAX_BACKLOG',
  'INGEST_DOC_TTL_S',
  'SINK_GROUP',
  'SINK_CONSUMER',
  'SINK_BATCH_SIZE',
  'SINK_BLOCK_MS',
  'SINK_CLAIM_IDLE_MS',
  'SINK_MAX_DELIVERIES',
  'SINK_SHUTDOWN_MS',
]);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface LoadedObject {
  file: string;
  obj: K8sObject;
}

type K8sModel = new (data: Record<string, unknown>) => { validate(): void };

/** Schema-backed models by `apiVersion/kind`: a manifest of any other kind fails until it is added here. */
const MODELS: Record<string, K8sModel> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
};

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) {
        return yamlFilesUnder(path);
      }

      return /\.ya?ml$/.test(name) ? [path] : [];
    });
}

function loadYamlObjects(file: string): K8sObject[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(docs)) {
    throw new Error(`${file}: empty YAML stream`);
  }

  return docs.flatMap((doc) => {
    if (doc.errors.length > 0) {
      throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value = doc.toJS() as K8sObject | null;

    return value === null ? [] : [value];
  });
}

const files = yamlFilesUnder(K8S_DIR);
const kustomizationFile = join(K8S_DIR, 'kustomization.yaml');
const manifestFiles = files.filter((f) => f !== kustomizationFile);
const objects: LoadedObject[] = manifestFiles.flatMap((file) =>
  loadYamlObjects(file).map((obj) => ({ file: relative(ROOT, file), obj })),
);

function find<T extends { kind: string }>(kind: T['kind'], name: string): T {
  const found = objects.filter((o) => o.obj.kind === kind && o.obj.metadata?.name === name);
  const [only] = found;
  if (found.length !== 1 || !only) {
    throw new Error(`expected one ${kind} named ${name} in k8s/, found ${found.length}`);
  }

  return only.obj as unknown as T;
}

function podSpecOf(deployment: IDeployment) {
  const spec = deployment.spec?.template.spec;
  if (!spec) {
    throw new Error(`deployment ${deployment.metadata?.name} has no pod spec`);
  }

  return spec;
}

function onlyContainer(deployment: IDeployment): IContainer {
  const [container, ...others] = podSpecOf(deployment).containers;
  if (!container || others.length > 0) {
    throw new Error(`deployment ${deployment.metadata?.name} should have exactly one container`);
  }

  return container;
}

function envValue(container: IContainer, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

/** The container port a probe or Service targets, by name or number. */
function resolvePort(ports: IContainerPort[] | undefined, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') {
    return ports?.some((p) => p.containerPort === port) ? port : undefined;
  }

  return ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(container: IContainer, probe: IProbe | undefined): { path?: string; port?: number } {
  const get = probe?.httpGet;

  return { path: get?.path, port: resolvePort(container.ports, get?.port) };
}

describe('k8s manifests', () => {
  it('finds the manifests and parses every YAML document', () => {
    expect(manifestFiles.length).toBeGreaterThan(0);
    expect(objects.length).toBeGreaterThan(0);
    for (const { file, obj } of objects) {
      expect({
        file,
        apiVersion: typeof obj.apiVersion,
        kind: typeof obj.kind,
        name: typeof obj.metadata?.name,
      }).toEqual({ file, apiVersion: 'string', kind: 'string', name: 'string' });
    }
  });

  describe('Kubernetes schema (kubernetes-models)', () => {
    it.each(objects.map(({ file, obj }) => [`${file} ${obj.kind}/${obj.metadata?.name}`, obj] as const))(
      '%s is valid',
      (_label, obj) => {
        const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
        if (!Model) {
          throw new Error(`no kubernetes-models class for ${obj.apiVersion}/${obj.kind}`);
        }
        const { apiVersion: _apiVersion, kind: _kind, ...data } = obj;
        let problems: string | undefined;
        try {
          new Model(data).validate();
        } catch (e) {
          problems = (e as Error).message;
        }
        expect(problems).toBeUndefined();
      },
    );

    it('rejects a broken Deployment, so the check above means something', () => {
      const broken = structuredClone(find<IDeployment>('Deployment', 'spillway-sink')) as Record<string, any>;
      broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
      const { apiVersion: _apiVersion, kind: _kind, ...data } = broken;
      expect(() => new Deployment(data).validate()).toThrow(/containerPort must be integer/);
    });
  });

  it('puts every namespaced object in the spillway namespace', () => {
    find<K8sObject>('Namespace', NAMESPACE);
    for (const { file, obj } of objects.filter(({ obj }) => obj.kind !== 'Namespace')) {
      expect({ file, namespace: obj.metadata.namespace }).toEqual({ file, namespace: NAMESPACE });
    }
  });

  it('lists exactly the manifest files in kustomization.yaml', () => {
    const kustomization = parseYaml(readFileSync(kustomizationFile, 'utf8')) as {
      apiVersion: string;
      kind: string;
      namespace: string;
      resources: string[];
    };
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.namespace).toBe(NAMESPACE);
    const listed = kustomization.resources.map((r) => resolve(K8S_DIR, r)).sort();
    expect(listed).toEqual([...manifestFiles].sort());
    expect(new Set(listed).size).toBe(listed.length);
  });

  describe('settings', () => {
    const env = () => find<IConfigMap>('ConfigMap', 'spillway-env').data ?? {};
    const secret = () => find<ISecret>('Secret', 'spillway-secrets');

    it('the env ConfigMap holds only known, non-secret settings that the apps accept', () => {
      const data = env();
      for (const key of Object.keys(data)) {
        expect({ key, known: KNOWN_SETTINGS.has(key) }).toEqual({ key, known: true });
      }
      for (const secretKey of ['REDIS_URL', 'DATABASE_URL', 'INGEST_API_KEYS']) {
        expect(data).not.toHaveProperty(secretKey);
      }
      // Unique per pod only when unset (hostname + pid): `kubectl scale` must need no other change.
      expect(data).not.toHaveProperty('SINK_CONSUMER');
      expect(data.COLLECTIONS_DIR ?? COLLECTIONS_MOUNT).toBe(COLLECTIONS_MOUNT);
      expect(() => validateEnv({ ...data, ...secret().stringData, PORT: '3000' })).not.toThrow();
    });

    it('the Secret carries the connection URLs and API keys as stringData', () => {
      const { stringData = {}, data } = secret();
      expect(data).toBeUndefined();
      expect(Object.keys(stringData).sort()).toEqual(['DATABASE_URL', 'INGEST_API_KEYS', 'REDIS_URL']);
      expect(stringData.REDIS_URL).toMatch(/^rediss?:\/\//);
      expect(stringData.DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
    });
  });

  describe.each([
    { app: 'ingest', name: 'spillway-ingest', port: 3000, main: 'dist/apps/ingest/main.js' },
    { app: 'sink', name: 'spillway-sink', port: 3001, main: 'dist/apps/sink/main.js' },
  ])('$name deployment', ({ name, port, main }) => {
    const deployment = () => find<IDeployment>('Deployment', name);

    it('runs the one spillway image with its own entry point and PORT', () => {
      const container = onlyContainer(deployment());
      expect(container.image).toBe('spillway:latest');
      expect(container.command).toEqual(['node', main]);
      expect(envValue(container, 'PORT')).toBe(String(port));
      expect(container.ports?.map((p) => p.containerPort)).toEqual([port]);
    });

    it('gives node the heap flags every other launcher gives the apps', () => {
      expect(envValue(onlyContainer(deployment()), 'NODE_OPTIONS')).toBe(APP_NODE_FLAGS.join(' '));
    });

    it('probes /health/live and /health/ready on the app port', () => {
      const container = onlyContainer(deployment());
      expect(httpProbe(container, container.livenessProbe)).toEqual({ path: '/health/live', port });
      expect(httpProbe(container, container.readinessProbe)).toEqual({ path: '/health/ready', port });
      if (container.startupProbe) {
        expect(httpProbe(container, container.startupProbe)).toEqual({ path: '/health/live', port });
      }
    });

    it('gives SIGTERM handling more time than SINK_SHUTDOWN_MS, without a preStop hook', () => {
      const shutdownMs = Number(find<IConfigMap>('ConfigMap', 'spillway-env').data?.SINK_SHUTDOWN_MS ?? 10_000);
      const graceSeconds = podSpecOf(deployment()).terminationGracePeriodSeconds;
      expect(graceSeconds).toEqual(expect.any(Number));
      expect(graceSeconds! * 1000).toBeGreaterThan(shutdownMs);
      expect(onlyContainer(deployment()).lifecycle?.preStop).toBeUndefined();
    });

    it('has Prometheus scrape annotations for /metrics on the app port', () => {
      expect(deployment().spec?.template.metadata?.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      });
    });

    it('sets resource requests and limits', () => {
      const resources = onlyContainer(deployment()).resources;
      for (const bound of [resources?.requests, resources?.limits]) {
        expect(bound).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
      }
    });

    it('runs as a non-root user on a read-only root filesystem', () => {
      const pod = podSpecOf(deployment());
      const container = onlyContainer(deployment());
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      // The image's USER is a name; the kubelet verifies runAsNonRoot only against a numeric uid.
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(container.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
    });

    it('mounts the collections ConfigMap at COLLECTIONS_DIR and reads settings from the ConfigMap and Secret', () => {
      const pod = podSpecOf(deployment());
      const container = onlyContainer(deployment());
      const mount = container.volumeMounts?.find((m) => m.mountPath === COLLECTIONS_MOUNT);
      expect(mount).toBeDefined();
      expect(pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name).toBe('spillway-collections');
      expect(container.envFrom).toEqual(expect.arrayContaining([{ configMapRef: { name: 'spillway-env' } }]));
      for (const key of ['REDIS_URL', 'DATABASE_URL']) {
        const fromSecret =
          container.envFrom?.some((s) => s.secretRef?.name === 'spillway-secrets') ||
          container.env?.some((e) => e.name === key && e.valueFrom?.secretKeyRef?.name === 'spillway-secrets');
        expect({ key, fromSecret }).toEqual({ key, fromSecret: true });
      }
      expect(container.env?.some((e) => e.name === 'SINK_CONSUMER')).toBe(false);
    });

    it('selects its own pod template', () => {
      const spec = deployment().spec!;
      expect(spec.template.metadata?.labels).toMatchObject(spec.selector.matchLabels ?? {});
    });
  });

  it('exposes ingest through a Service on the ingest port', () => {
    const service = find<IService>('Service', 'spillway-ingest');
    const deployment = find<IDeployment>('Deployment', 'spillway-ingest');
    const container = onlyContainer(deployment);
    expect(deployment.spec?.template.metadata?.labels).toMatchObject(service.spec?.selector ?? { none: 'none' });
    const targets = service.spec?.ports?.map((p) => resolvePort(container.ports, p.targetPort));
    expect(targets).toEqual([3000]);
  });

  describe('collections ConfigMap', () => {
    const data = () => find<IConfigMap>('ConfigMap', 'spillway-collections').data ?? {};

    it('holds YAML files for sessions (document) and clicks (event)', () => {
      const entries = Object.entries(data());
      expect(entries.length).toBeGreaterThan(0);
      const parsed = Object.fromEntries(
        entries.map(([key, text]) => {
          expect(key).toMatch(/\.ya?ml$/);

          return [
            key,
            parseYaml(text) as { name: string; kind: string; key?: string; schema?: { required?: string[] } },
          ];
        }),
      );
      const byName = Object.fromEntries(Object.values(parsed).map((c) => [c.name, c]));
      expect(byName.sessions).toMatchObject({ kind: 'document' });
      expect(byName.sessions?.schema?.required).toContain('userId');
      expect(byName.clicks).toMatchObject({ kind: 'event' });
    });

    it('ships the same collection files as config/collections, which npm start and the image use', () => {
      const shipped = join(ROOT, 'config', 'collections');
      const files = Object.fromEntries(
        readdirSync(shipped).map((name) => [name, readFileSync(join(shipped, name), 'utf8')]),
      );

      expect(data()).toEqual(files);
    });

    it('is accepted by the collection loader the apps use', () => {
      const dir = mkdtempSync(join(tmpdir(), 'spillway-k8s-collections-'));
      try {
        for (const [key, text] of Object.entries(data())) {
          writeFileSync(join(dir, key), text);
        }
        const collections = loadCollections(dir);
        expect(collections.map((c) => [c.name, c.kind]).sort()).toEqual([
          ['clicks', 'event'],
          ['sessions', 'document'],
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('Grafana dashboard', () => {
  interface Target {
    expr?: string;
  }
  interface Panel {
    id: number;
    type: string;
    title: string;
    datasource?: { type?: string; uid?: string };
    gridPos: { h: number; w: number; x: number; y: number };
    targets?: Target[];
    panels?: Panel[];
  }
  interface Dashboard {
    __inputs?: { name: string; type: string; pluginId: string }[];
    schemaVersion: number;
    uid: string;
    title: string;
    panels: Panel[];
  }

  const dashboardFile = join(K8S_DIR, 'grafana', 'spillway-dashboard.json');
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));

  it('is an importable dashboard with a Prometheus datasource input', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toBeTruthy();
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    ]);
    const ids = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({
        panel: panel.title,
        uid: '${DS_PROMETHEUS}',
      });
      expect(panel.targets?.length).toBeGreaterThan(0);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
    }
  });

  it('has only PromQL that parses', async () => {
    // The package is an ES module with a CommonJS build; import() becomes require() under this CommonJS config.
    const { parser: promqlParser } = await import('@prometheus-io/lezer-promql');
    for (const { panel, expr } of exprs) {
      // Grafana substitutes its macros and variables before the query reaches Prometheus.
      const query = expr.replace(/\$__(rate_interval|interval|range)/g, '5m');
      let errorAt: number | null = null;
      promqlParser.parse(query).iterate({
        enter: (node) => {
          if (node.type.isError && errorAt === null) {
            errorAt = node.from;
          }
        },
      });
      expect({ panel, expr, errorAt }).toEqual({ panel, expr, errorAt: null });
    }
  });

  it.each([...CONTRACT_METRICS, 'process_resident_memory_bytes'])('charts %s', (metric) => {
    // A histogram is queried through its _bucket, _sum or _count series.
    const pattern = new RegExp(`\\b${metric}(_bucket|_sum|_count)?\\b`);
    expect(exprs.filter(({ expr }) => pattern.test(expr)).map(({ panel }) => panel)).not.toEqual([]);
  });

  const contractFile = resolve(ROOT, '..', 'shared', 'CONTRACT.md');
  (existsSync(contractFile) ? it : it.skip)('knows every metric of CONTRACT.md section 6', () => {
    const contract = readFileSync(contractFile, 'utf8');
    const section = contract.slice(contract.indexOf('## 6.'), contract.indexOf('## 7.'));
    const named = [...section.matchAll(/^\| `(spillway_[a-z_]+)` \|/gm)].map((m) => m[1]);
    expect([...named].sort()).toEqual([...CONTRACT_METRICS].sort());
  });
});

describe('app launchers besides k8s', () => {
  const flags = APP_NODE_FLAGS.join(' ');

  it('the image sets the same heap flags in NODE_OPTIONS', () => {
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(new RegExp(`^ENV .*NODE_OPTIONS=${flags}$`, 'm'));
  });

  it('npm start:ingest and start:sink pass them to node', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts['start:ingest']).toBe(`node ${flags} dist/apps/ingest/main.js`);
    expect(scripts['start:sink']).toBe(`node ${flags} dist/apps/sink/main.js`);
  });
});
