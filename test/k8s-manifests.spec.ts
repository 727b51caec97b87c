/**
 * Static checks of the deployment files: every manifest under k8s/ is valid against the Kubernetes OpenAPI
 * schemas (kubernetes-models), matches what CONTRACT.md and the apps expect (ports, probes, shutdown budget,
 * scrape annotations, non-root), and the Grafana dashboard covers every metric of CONTRACT.md section 6.
 * The optional kustomize components (k8s/<folder>/ with a `kind: Component` kustomization, e.g. sink-analytics) are
 * checked as well, alone and together with the base: each Deployment's environment, as its envFrom and env compose
 * it, is one the apps accept. The autoscalers of k8s/autoscaling/ (a KEDA ScaledObject, an HPA) are checked against
 * KEDA's published CustomResourceDefinitions, bundled in test/schemas/keda/, and against what the apps export (the
 * backlog gauge), with the examples of their README. Needs no cluster, Redis or PostgreSQL.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import {
  CustomResourceDefinition,
  type ICustomResourceDefinition,
} from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import {
  HorizontalPodAutoscaler,
  type IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { getMetadataStorage } from 'class-validator';
import { Registry } from 'prom-client';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
// The plain files, not the @app/* barrels: those also export Nest modules, which this static check does not need.
import { loadCollections } from '../libs/collections/src/collections.loader';
import { partitionKeys } from '../libs/contracts/src/keys';
import { DEFAULT_SINK_GROUP } from '../libs/contracts/src/streams';
import { connectionUrlVariable, Env, splitList, validate as validateEnv } from '../libs/config/src/env.schema';
import { isSecretSetting } from '../libs/config/src/secret-settings';
import { SpillwayMetrics } from '../libs/metrics/src/spillway.metrics';
import { APP_NODE_FLAGS, SINK_NODE_FLAGS } from '../tools/local-stack/project';
import { CrdSchemas } from './utils/crd-schema';

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

/**
 * The settings a ConfigMap or Secret may carry (CONTRACT.md section 8 and those added since): every field of the apps'
 * `Env` class, and `<NAME>_FILE` for each secret setting (libs/config secret-settings.ts).
 */
const ENV_SETTINGS = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(Env, '', true, false)
    .map((m) => m.propertyName),
);

function isKnownSetting(key: string): boolean {
  return ENV_SETTINGS.has(key) || (key.endsWith('_FILE') && isSecretSetting(key.slice(0, -'_FILE'.length)));
}

/** A named connection's URL (libs/config connectionUrlVariable): secret, so only in a Secret. */
const CONNECTION_URL_SETTING = /^SPILLWAY_CONNECTION_[A-Z][A-Z0-9_]*_URL$/;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface LoadedObject {
  file: string;
  obj: K8sObject;
  /** the optional component (its folder's name) the manifest belongs to; undefined for the base */
  component?: string;
}

interface KustomizationFile {
  apiVersion: string;
  kind: string;
  namespace?: string;
  resources?: string[];
  components?: string[];
}

/** The parts of KEDA's ScaledObject (keda.sh/v1alpha1) that these checks read. */
interface ScaledObject extends K8sObject {
  spec: {
    scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
    minReplicaCount?: number;
    maxReplicaCount?: number;
    idleReplicaCount?: number;
    fallback?: { failureThreshold: number; replicas: number };
    advanced?: {
      horizontalPodAutoscalerConfig?: { behavior?: unknown };
      scalingModifiers?: { formula?: string; target?: string };
    };
    triggers: {
      type: string;
      name?: string;
      metricType?: string;
      metadata: Record<string, string | undefined>;
      authenticationRef?: { name: string };
    }[];
  };
}

/** The parts of KEDA's TriggerAuthentication that these checks read. */
interface TriggerAuth extends K8sObject {
  spec: { secretTargetRef?: { parameter: string; name: string; key: string }[] };
}

type K8sModel = new (data: Record<string, unknown>) => { validate(): void };

/** Schema-backed models by `apiVersion/kind`: a manifest of any other kind fails until it is added here. */
const MODELS: Record<string, K8sModel> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

/** KEDA's CustomResourceDefinitions (where they come from: the head of each file), for the keda.sh kinds. */
const KEDA_CRD_FILES = ['scaledobjects.keda.sh.yaml', 'triggerauthentications.keda.sh.yaml'].map((name) =>
  join(ROOT, 'test', 'schemas', 'keda', name),
);
const crdSchemas = new CrdSchemas(KEDA_CRD_FILES);

/**
 * What the API server would refuse in a manifest: a Kubernetes kind is checked by its kubernetes-models class, a
 * custom resource (keda.sh) by its bundled CRD; a kind known to neither fails.
 */
function schemaProblems(obj: K8sObject): string | undefined {
  if (crdSchemas.has(obj.apiVersion, obj.kind)) {
    const problems = crdSchemas.problems(obj);

    return problems.length > 0 ? problems.join('; ') : undefined;
  }
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) {
    return `no kubernetes-models class or bundled CRD for ${obj.apiVersion}/${obj.kind}`;
  }
  const { apiVersion: _apiVersion, kind: _kind, ...data } = obj;
  try {
    new Model(data).validate();
  } catch (e) {
    return (e as Error).message;
  }

  return undefined;
}

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
const kustomizationFiles = files.filter((f) => f.endsWith(`${sep}kustomization.yaml`));
/** Folders of optional components: applied only when k8s/kustomization.yaml names them under `components`. */
const componentDirs = kustomizationFiles.filter((f) => f !== kustomizationFile).map(dirname);
const componentOf = (file: string): string | undefined =>
  componentDirs.find((dir) => file.startsWith(`${dir}${sep}`))?.slice(K8S_DIR.length + 1);
const manifestFiles = files.filter((f) => !kustomizationFiles.includes(f));
const baseManifestFiles = manifestFiles.filter((f) => componentOf(f) === undefined);
const objects: LoadedObject[] = manifestFiles.flatMap((file) =>
  loadYamlObjects(file).map((obj) => ({ file: relative(ROOT, file), obj, component: componentOf(file) })),
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

/** The objects of the base alone, or of the base with every optional component applied. */
type Scope = 'base' | 'with components';

function findIn<T extends { kind: string }>(scope: Scope, kind: T['kind'], name: string): T | undefined {
  const found = objects.filter(
    (o) => o.obj.kind === kind && o.obj.metadata?.name === name && (scope === 'with components' || !o.component),
  );

  return found[0]?.obj as unknown as T | undefined;
}

/** The settings a ConfigMap's `data` or a Secret's `stringData` holds; undefined when the object is not there. */
function settingsOf(scope: Scope, kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  if (kind === 'ConfigMap') {
    const map = findIn<IConfigMap>(scope, 'ConfigMap', name);

    return map && (map.data ?? {});
  }
  const secret = findIn<ISecret>(scope, 'Secret', name);

  return secret && (secret.stringData ?? {});
}

/** What a container finds at `path` in a Secret volume it mounts; undefined when no mounted Secret is there. */
function mountedSecretFile(
  scope: Scope,
  deployment: IDeployment,
  path: string,
): { secret: string; key: string; value: string | undefined; optional: boolean } | undefined {
  for (const mount of onlyContainer(deployment).volumeMounts ?? []) {
    const dir = mount.mountPath.replace(/\/$/, '');
    const source = podSpecOf(deployment).volumes?.find((v) => v.name === mount.name)?.secret;
    if (!source?.secretName || !path.startsWith(`${dir}/`)) {
      continue;
    }
    const file = path.slice(dir.length + 1);
    const key = source.items ? source.items.find((item) => item.path === file)?.key : file;
    if (key === undefined) {
      return undefined;
    }
    const value = settingsOf(scope, 'Secret', source.secretName)?.[key];

    return { secret: source.secretName, key, value, optional: source.optional === true };
  }

  return undefined;
}

/**
 * A container's environment as the kubelet composes it: every `envFrom` source in order (a later one wins; an
 * optional one that does not exist is skipped), then `env` (which wins over `envFrom`). Throws for a source or key
 * that does not exist and is not optional: the pod would not start.
 */
function declaredEnv(scope: Scope, container: IContainer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const settings = settingsOf(scope, source.configMapRef ? 'ConfigMap' : 'Secret', ref?.name ?? '');
    if (settings === undefined && ref?.optional !== true) {
      throw new Error(`${container.name}: envFrom ${ref?.name} does not exist (${scope})`);
    }
    Object.assign(env, settings ?? {});
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef ?? variable.valueFrom?.configMapKeyRef;
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
    } else if (ref) {
      const settings = settingsOf(scope, variable.valueFrom?.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name ?? '');
      const value = settings?.[ref.key];
      if (value === undefined) {
        throw new Error(`${container.name}: ${variable.name} refers to ${ref.name}/${ref.key}, which is not there`);
      }
      env[variable.name] = value;
    }
  }

  return env;
}

/**
 * A container's environment as the app sees it: as the kubelet composes it (declaredEnv), then, as the apps do at
 * start, each secret setting's `<NAME>_FILE` replaced by `<NAME>` with what the mounted Secret holds at that path.
 * Throws for a file that is not there: the app would stop at start.
 */
function containerEnv(scope: Scope, deployment: IDeployment): Record<string, string> {
  const container = onlyContainer(deployment);
  const env = declaredEnv(scope, container);
  for (const [variable, path] of Object.entries(env)) {
    const name = variable.slice(0, -'_FILE'.length);
    if (!variable.endsWith('_FILE') || !isSecretSetting(name)) {
      continue;
    }
    const file = mountedSecretFile(scope, deployment, path);
    if (file?.value === undefined) {
      throw new Error(`${container.name}: ${variable} names ${path}, which no mounted Secret holds (${scope})`);
    }
    env[name] = file.value.replace(/[\r\n]+$/, '');
    delete env[variable];
  }

  return env;
}

/** Whether a deployment reads `key` from a file of a mounted Secret that holds it, through `<key>_FILE`. */
function fromSecretFile(deployment: IDeployment, key: string): boolean {
  const path = declaredEnv('with components', onlyContainer(deployment))[`${key}_FILE`];

  return path !== undefined && mountedSecretFile('with components', deployment, path)?.key === key;
}

/** Whether a container takes any secret setting from an environment variable (envFrom a Secret, or a secretKeyRef). */
function secretsInEnvironment(container: IContainer): string[] {
  return [
    ...(container.envFrom ?? []).filter((s) => s.secretRef).map((s) => `envFrom ${s.secretRef?.name}`),
    ...(container.env ?? []).filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name),
  ];
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

  describe('Kubernetes schema (kubernetes-models) and KEDA schema (its CRDs)', () => {
    it.each(objects.map(({ file, obj }) => [`${file} ${obj.kind}/${obj.metadata?.name}`, obj] as const))(
      '%s is valid',
      (_label, obj) => {
        expect(schemaProblems(obj)).toBeUndefined();
      },
    );

    it('rejects a broken Deployment, so the check above means something', () => {
      const broken = structuredClone(find<IDeployment>('Deployment', 'spillway-sink')) as Record<string, any>;
      broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
      const { apiVersion: _apiVersion, kind: _kind, ...data } = broken;
      expect(() => new Deployment(data).validate()).toThrow(/containerPort must be integer/);
    });

    it('bundles KEDA CRDs that are valid CustomResourceDefinitions, each declaring its kind', () => {
      for (const crd of crdSchemas.definitions) {
        const { apiVersion: _apiVersion, kind: _kind, ...data } = crd as unknown as ICustomResourceDefinition;
        expect(() => new CustomResourceDefinition(data).validate()).not.toThrow();
      }
      expect(crdSchemas.has('keda.sh/v1alpha1', 'ScaledObject')).toBe(true);
      expect(crdSchemas.has('keda.sh/v1alpha1', 'TriggerAuthentication')).toBe(true);
    });

    it('rejects a broken ScaledObject as the API server would: wrong types, unknown and missing fields', () => {
      const broken = structuredClone(find<K8sObject>('ScaledObject', 'spillway-sink')) as Record<string, any>;
      broken.spec.triggers[0].metadata.threshold = 20000; // trigger metadata values are strings
      broken.spec.maxReplicas = 8; // the field is maxReplicaCount
      broken.spec.pollingInterval = '15s';
      delete broken.spec.scaleTargetRef;
      expect(
        schemaProblems(broken as K8sObject)
          ?.split('; ')
          .sort(),
      ).toEqual([
        '/spec has unknown field "maxReplicas"',
        "/spec must have required property 'scaleTargetRef'",
        '/spec/pollingInterval must be integer',
        '/spec/triggers/0/metadata/threshold must be string',
      ]);
    });

    it('rejects a broken TriggerAuthentication and HorizontalPodAutoscaler', () => {
      const auth = {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: { name: 'spillway-redis', namespace: NAMESPACE },
        spec: { secretTargetRef: [{ parameter: 'password', secret: 'spillway-secrets', key: 'REDIS_PASSWORD' }] },
      };
      expect(schemaProblems(auth)?.split('; ').sort()).toEqual([
        '/spec/secretTargetRef/0 has unknown field "secret"',
        "/spec/secretTargetRef/0 must have required property 'name'",
      ]);
      const hpa = structuredClone(find<K8sObject>('HorizontalPodAutoscaler', 'spillway-sink')) as Record<string, any>;
      hpa.spec.minReplicas = '1';
      expect(schemaProblems(hpa as K8sObject)).toMatch(/minReplicas must be integer/);
    });
  });

  it('puts every namespaced object in the spillway namespace', () => {
    find<K8sObject>('Namespace', NAMESPACE);
    for (const { file, obj } of objects.filter(({ obj }) => obj.kind !== 'Namespace')) {
      expect({ file, namespace: obj.metadata.namespace }).toEqual({ file, namespace: NAMESPACE });
    }
  });

  it('lists exactly the base manifest files in kustomization.yaml, and no optional component', () => {
    const kustomization = parseYaml(readFileSync(kustomizationFile, 'utf8')) as KustomizationFile;
    expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
    expect(kustomization.kind).toBe('Kustomization');
    expect(kustomization.namespace).toBe(NAMESPACE);
    const listed = (kustomization.resources ?? []).map((r) => resolve(K8S_DIR, r)).sort();
    expect(listed).toEqual([...baseManifestFiles].sort());
    expect(new Set(listed).size).toBe(listed.length);
    expect(kustomization.components ?? []).toEqual([]);
  });

  it('finds the sink-analytics component among the optional ones', () => {
    expect(componentDirs.map((dir) => relative(K8S_DIR, dir))).toContain('sink-analytics');
  });

  it.each(componentDirs.map((dir) => [relative(K8S_DIR, dir), dir] as const))(
    'the %s component lists exactly the manifest files of its folder',
    (_name, dir) => {
      const component = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as KustomizationFile;
      expect(component.apiVersion).toBe('kustomize.config.k8s.io/v1alpha1');
      expect(component.kind).toBe('Component');
      const listed = (component.resources ?? []).map((r) => resolve(dir, r)).sort();
      expect(listed).toEqual(manifestFiles.filter((f) => dirname(f) === dir).sort());
    },
  );

  describe('settings', () => {
    const env = () => find<IConfigMap>('ConfigMap', 'spillway-env').data ?? {};
    const secret = () => find<ISecret>('Secret', 'spillway-secrets');

    it('the env ConfigMap holds only known, non-secret settings that the apps accept', () => {
      const data = env();
      for (const key of Object.keys(data)) {
        expect({ key, known: isKnownSetting(key) }).toEqual({ key, known: true });
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

    it('the named connections: a ConfigMap of known settings, a Secret with the URL of each connection it names', () => {
      const connections = settingsOf('with components', 'ConfigMap', 'spillway-connections') ?? {};
      for (const key of Object.keys(connections)) {
        expect({ key, known: isKnownSetting(key) }).toEqual({ key, known: true });
      }
      const names = splitList(connections.SPILLWAY_CONNECTIONS);
      expect(names).toEqual(['analytics']);
      const urls = settingsOf('with components', 'Secret', 'spillway-connection-urls') ?? {};
      expect(Object.keys(urls).sort()).toEqual(names.map(connectionUrlVariable).sort());
      for (const [key, url] of Object.entries(urls)) {
        expect(key).toMatch(CONNECTION_URL_SETTING);
        expect(url).toMatch(/^(mysql|mariadb):\/\//);
      }
      for (const { obj } of objects.filter(({ obj }) => obj.kind === 'ConfigMap')) {
        const keys = Object.keys((obj as IConfigMap).data ?? {});
        expect({ configMap: obj.metadata.name, urls: keys.filter((k) => CONNECTION_URL_SETTING.test(k)) }).toEqual({
          configMap: obj.metadata.name,
          urls: [],
        });
      }
    });
  });

  describe.each(['base', 'with components'] as const)('every Deployment, %s', (scope) => {
    const deployments = objects
      .filter(({ obj, component }) => obj.kind === 'Deployment' && (scope === 'with components' || !component))
      .map(({ obj }) => obj as unknown as IDeployment);

    it.each(deployments.map((d) => [d.metadata?.name, d] as const))(
      '%s starts with an environment the apps accept',
      (_name, deployment) => {
        const env = containerEnv(scope, deployment);
        expect(() => validateEnv(env)).not.toThrow();
      },
    );

    it('each sink writes its own connections: spillway-sink the default one, spillway-sink-analytics analytics', () => {
      const served = Object.fromEntries(
        deployments
          .filter((d) => onlyContainer(d).command?.includes('dist/apps/sink/main.js'))
          .map((d) => [d.metadata?.name, containerEnv(scope, d).SINK_CONNECTIONS ?? 'every one']),
      );
      expect(served).toEqual(
        scope === 'base'
          ? { 'spillway-sink': 'every one' }
          : { 'spillway-sink': 'default', 'spillway-sink-analytics': 'analytics' },
      );
    });

    it('no Deployment selects the pods of another', () => {
      for (const selecting of deployments) {
        for (const other of deployments.filter((d) => d !== selecting)) {
          const labels = other.spec?.template.metadata?.labels ?? {};
          const selects = Object.entries(selecting.spec?.selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
          expect({ selecting: selecting.metadata?.name, other: other.metadata?.name, selects }).toEqual({
            selecting: selecting.metadata?.name,
            other: other.metadata?.name,
            selects: false,
          });
        }
      }
    });
  });

  it.each(['spillway-ingest', 'spillway-sink'])(
    '%s reads the named connections through optional envFrom and volume, so a component needs no patch of it',
    (name) => {
      const deployment = find<IDeployment>('Deployment', name);
      expect(onlyContainer(deployment).envFrom).toEqual(
        expect.arrayContaining([{ configMapRef: { name: 'spillway-connections', optional: true } }]),
      );
      const urls = podSpecOf(deployment).volumes?.find((v) => v.secret?.secretName === 'spillway-connection-urls');
      expect(urls?.secret?.optional).toBe(true);
      expect(onlyContainer(deployment).volumeMounts?.some((m) => m.name === urls?.name)).toBe(true);
    },
  );

  describe.each([
    {
      app: 'ingest',
      name: 'spillway-ingest',
      port: 3000,
      main: 'dist/apps/ingest/main.js',
      secrets: ['REDIS_URL', 'DATABASE_URL'],
    },
    {
      app: 'sink',
      name: 'spillway-sink',
      port: 3001,
      main: 'dist/apps/sink/main.js',
      secrets: ['REDIS_URL', 'DATABASE_URL'],
    },
    // A sink opens only the databases it serves: this one is not given DATABASE_URL.
    {
      app: 'sink',
      name: 'spillway-sink-analytics',
      port: 3001,
      main: 'dist/apps/sink/main.js',
      secrets: ['REDIS_URL', 'SPILLWAY_CONNECTION_ANALYTICS_URL'],
    },
  ])('$name deployment', ({ app, name, port, main, secrets }) => {
    const deployment = () => find<IDeployment>('Deployment', name);

    it('runs the one spillway image with its own entry point, node flags and PORT', () => {
      const container = onlyContainer(deployment());
      expect(container.image).toBe('spillway:latest');
      expect(container.command).toEqual(['node', ...(app === 'sink' ? SINK_NODE_FLAGS : []), main]);
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

    it('reads every secret from a file of a mounted Secret (<NAME>_FILE), none from an environment variable', () => {
      const pod = podSpecOf(deployment());
      const container = onlyContainer(deployment());
      expect(secretsInEnvironment(container)).toEqual([]);
      for (const mount of container.volumeMounts ?? []) {
        const volume = pod.volumes?.find((v) => v.name === mount.name);
        if (volume?.secret) {
          // Readable by the app's group only (fsGroup), never by others, and never written.
          expect({ volume: volume.name, mode: volume.secret.defaultMode, readOnly: mount.readOnly }).toEqual({
            volume: volume.name,
            mode: 0o440,
            readOnly: true,
          });
        }
      }
    });

    it('mounts the collections ConfigMap at COLLECTIONS_DIR and reads settings from the ConfigMap and Secret', () => {
      const pod = podSpecOf(deployment());
      const container = onlyContainer(deployment());
      const mount = container.volumeMounts?.find((m) => m.mountPath === COLLECTIONS_MOUNT);
      expect(mount).toBeDefined();
      expect(pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name).toBe('spillway-collections');
      expect(container.envFrom).toEqual(expect.arrayContaining([{ configMapRef: { name: 'spillway-env' } }]));
      for (const key of secrets) {
        expect({ key, fromSecretFile: fromSecretFile(deployment(), key) }).toEqual({ key, fromSecretFile: true });
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

describe('autoscaling (k8s/autoscaling/)', () => {
  const autoscalingDir = join(K8S_DIR, 'autoscaling');
  const scaledObject = () => find<ScaledObject>('ScaledObject', 'spillway-sink');
  const hpa = () => find<IHorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'spillway-sink');
  const backlogTrigger = () => {
    const [trigger, ...others] = scaledObject().spec.triggers;
    if (!trigger || others.length > 0) {
      throw new Error('the ScaledObject should have exactly one trigger');
    }

    return trigger;
  };
  /** The labels of spillway_stream_backlog, as libs/metrics declares it. */
  const registry = new Registry();
  new SpillwayMetrics(registry);
  const backlogLabels = (
    registry.getSingleMetric('spillway_stream_backlog') as unknown as { labelNames?: string[] } | undefined
  )?.labelNames;

  /** The ```yaml blocks of the README: each is shown to users as something to apply or to paste into Helm values. */
  const readmeBlocks = [...readFileSync(join(autoscalingDir, 'README.md'), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1] ?? '')
    .map((text) => parseAllDocuments(text).map((doc) => doc.toJS() as Record<string, unknown>));
  const readmeObjects = readmeBlocks.flat().filter((o): o is K8sObject => typeof o.apiVersion === 'string');

  it('has the two alternatives as optional components, KEDA and a plain HPA, each autoscaling spillway-sink', () => {
    expect(
      objects
        .filter(({ obj }) => ['ScaledObject', 'HorizontalPodAutoscaler'].includes(obj.kind))
        .map((o) => o.component),
    ).toEqual(['autoscaling/hpa', 'autoscaling/keda']);
    const sink = find<IDeployment>('Deployment', 'spillway-sink');
    expect(onlyContainer(sink).command).toEqual(['node', ...SINK_NODE_FLAGS, 'dist/apps/sink/main.js']);
    for (const ref of [scaledObject().spec.scaleTargetRef, hpa().spec?.scaleTargetRef]) {
      expect(ref).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'spillway-sink' });
    }
  });

  it.each(['autoscaling/keda', 'autoscaling/hpa'])(
    '%s removes spec.replicas from spillway-sink, which the base sets, so that kubectl apply leaves the count alone',
    (component) => {
      const kustomization = parseYaml(readFileSync(join(K8S_DIR, component, 'kustomization.yaml'), 'utf8')) as {
        patches?: { target?: Record<string, string>; patch?: string }[];
      };
      expect(kustomization.patches).toEqual([
        {
          target: { group: 'apps', version: 'v1', kind: 'Deployment', name: 'spillway-sink' },
          patch: expect.any(String) as string,
        },
      ]);
      expect(parseYaml(kustomization.patches?.[0]?.patch ?? '')).toEqual([{ op: 'remove', path: '/spec/replicas' }]);
      // A JSON patch `remove` of a path that is not there fails the whole build.
      expect(find<IDeployment>('Deployment', 'spillway-sink').spec?.replicas).toEqual(expect.any(Number));
    },
  );

  // kustomize itself, where kubectl is installed: the component applies over the base and its patch finds its path.
  const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((path) => existsSync(path));
  it.skipIf(!kubectl).each(['autoscaling/keda', 'autoscaling/hpa'])(
    'kubectl kustomize builds k8s/ with sink-analytics and %s: spillway-sink without replicas, the autoscaler in',
    (component) => {
      const dir = mkdtempSync(join(tmpdir(), 'spillway-k8s-'));
      try {
        cpSync(K8S_DIR, dir, { recursive: true });
        const kustomization = parseYaml(readFileSync(kustomizationFile, 'utf8')) as KustomizationFile;
        kustomization.components = ['sink-analytics', component];
        writeFileSync(join(dir, 'kustomization.yaml'), stringifyYaml(kustomization));
        const built = parseAllDocuments(execFileSync(kubectl!, ['kustomize', dir], { encoding: 'utf8' })).map(
          (doc) => doc.toJS() as K8sObject,
        );
        const named = (kind: string, name: string) =>
          built.filter((o) => o.kind === kind && o.metadata.name === name) as unknown as IDeployment[];
        expect(named('Deployment', 'spillway-sink').map((d) => d.spec?.replicas)).toEqual([undefined]);
        expect(named('Deployment', 'spillway-sink-analytics').map((d) => d.spec?.replicas)).toEqual([
          expect.any(Number),
        ]);
        const kind = component === 'autoscaling/keda' ? 'ScaledObject' : 'HorizontalPodAutoscaler';
        expect(named(kind, 'spillway-sink')).toHaveLength(1);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('keeps at least one sink, and both autoscalers agree on bounds and target', () => {
    const { spec } = scaledObject();
    expect(spec.minReplicaCount).toBe(1);
    expect(spec.maxReplicaCount).toBeGreaterThan(1);
    expect(spec.idleReplicaCount).toBeUndefined();
    const threshold = Number(backlogTrigger().metadata.threshold);
    expect(threshold).toBeGreaterThan(0);
    expect(backlogTrigger().metricType ?? 'AverageValue').toBe('AverageValue');

    expect(hpa().spec?.minReplicas).toBe(spec.minReplicaCount);
    expect(hpa().spec?.maxReplicas).toBe(spec.maxReplicaCount);
    expect(hpa().spec?.metrics).toEqual([
      {
        type: 'External',
        external: {
          metric: { name: 'spillway_stream_backlog' },
          target: { type: 'AverageValue', averageValue: String(threshold) },
        },
      },
    ]);
    expect(hpa().spec?.behavior).toEqual(spec.advanced?.horizontalPodAutoscalerConfig?.behavior);
  });

  it('falls back to a fixed count when Prometheus fails or answers nothing, instead of scaling to the minimum', () => {
    const { spec } = scaledObject();
    expect(backlogTrigger()).toMatchObject({ type: 'prometheus', metadata: { ignoreNullValues: 'false' } });
    expect(spec.fallback?.replicas).toBeGreaterThan(spec.minReplicaCount ?? 0);
    expect(spec.fallback?.replicas).toBeLessThanOrEqual(spec.maxReplicaCount ?? 100);
  });

  it('queries the backlog gauge in PromQL that parses, once per collection and partition, not once per pod', async () => {
    const query = backlogTrigger().metadata.query ?? '';
    const { parser: promqlParser } = await import('@prometheus-io/lezer-promql');
    let errorAt: number | null = null;
    promqlParser.parse(query).iterate({
      enter: (node) => {
        if (node.type.isError && errorAt === null) {
          errorAt = node.from;
        }
      },
    });
    expect({ query, errorAt }).toEqual({ query, errorAt: null });
    expect(query).toContain('spillway_stream_backlog{namespace="spillway"}');
    // Every ingest and sink pod exports the same figures: a plain sum would count them once per pod. Each label of
    // the gauge must be kept apart by the max, or one collection's backlog would hide another's.
    const [, byLabels = ''] = /^sum\(max by \(([^)]*)\) \(spillway_stream_backlog\{[^}]*\}\)\)$/.exec(query) ?? [];
    const kept = byLabels.split(',').map((l) => l.trim());
    expect(backlogLabels).toEqual(expect.any(Array));
    for (const label of [...(backlogLabels ?? []), 'partition']) {
      expect({ label, kept: kept.includes(label) }).toEqual({ label, kept: true });
    }
  });

  it('documents the prometheus-adapter rule of the HPA with the same query as the ScaledObject', () => {
    const rules = readmeBlocks
      .flat()
      .flatMap((values) => (values.rules as { external?: { metricsQuery?: string }[] } | undefined)?.external ?? []);
    expect(rules).toHaveLength(1);
    const query = (rules[0]?.metricsQuery ?? '')
      .replace('<<.Series>>', 'spillway_stream_backlog')
      .replace('<<.LabelMatchers>>', `namespace="${NAMESPACE}"`)
      .trim();
    expect(query).toBe(backlogTrigger().metadata.query);
  });

  describe('the README examples', () => {
    it('has examples to check', () => {
      expect(readmeObjects.map((o) => o.kind).sort()).toEqual(['ScaledObject', 'TriggerAuthentication']);
    });

    it.each(readmeObjects.map((o) => [`${o.kind}/${o.metadata.name}`, o] as const))(
      '%s is valid against the KEDA CRDs and in the spillway namespace',
      (_label, obj) => {
        expect(schemaProblems(obj)).toBeUndefined();
        expect(obj.metadata.namespace).toBe(NAMESPACE);
      },
    );

    it('reads each partition stream of the shipped collections, with the sink consumer group and shared auth', () => {
      const collections = loadCollections(join(ROOT, 'config', 'collections')).map((c) => c.name);
      const streamsOf = (name: string) => Array.from({ length: 64 }, (_, p) => partitionKeys(name, p).stream);
      const auths = readmeObjects.filter((o) => o.kind === 'TriggerAuthentication') as unknown as TriggerAuth[];
      const examples = readmeObjects.filter((o) => o.kind === 'ScaledObject') as unknown as ScaledObject[];
      for (const example of examples) {
        expect(example.spec.scaleTargetRef.name).toBe('spillway-sink');
        const streams = example.spec.triggers.map((trigger) => {
          expect(trigger.type).toMatch(/^redis(-cluster|-sentinel)?-streams$/);
          expect(trigger.metadata.consumerGroup).toBe(DEFAULT_SINK_GROUP);
          expect(auths.map((a) => a.metadata.name)).toContain(trigger.authenticationRef?.name);

          return trigger.metadata.stream ?? '';
        });
        for (const collection of collections) {
          expect(streams.filter((s) => streamsOf(collection).includes(s)).length).toBeGreaterThan(1);
        }
        expect(streams.every((s) => collections.some((c) => streamsOf(c).includes(s)))).toBe(true);
        // Each trigger is one HPA metric and the HPA takes the highest: only a formula sums the partitions.
        const formula = example.spec.advanced?.scalingModifiers?.formula ?? '';
        expect(formula.split('+').map((t) => t.trim())).toEqual(example.spec.triggers.map((t) => t.name));
      }
      for (const auth of auths) {
        for (const ref of auth.spec.secretTargetRef ?? []) {
          expect(ref.name).toBe('spillway-secrets');
        }
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
    templating: { list: { name: string; definition?: string; multi?: boolean; includeAll?: boolean }[] };
  }

  const dashboardFile = join(K8S_DIR, 'grafana', 'spillway-dashboard.json');
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as Dashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));
  /** The metrics that carry a `connection` label (one database each), as libs/metrics declares them. */
  const registry = new Registry();
  new SpillwayMetrics(registry);
  const connectionMetrics = registry
    .getMetricsAsArray()
    .filter((m) => ((m as unknown as { labelNames?: string[] }).labelNames ?? []).includes('connection'))
    .map((m) => m.name)
    .sort();

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

  it('has a connection variable, from the sink metrics', () => {
    const variable = dashboard.templating.list.find((v) => v.name === 'connection');
    expect(variable).toMatchObject({
      definition: 'label_values(spillway_sink_entries_total, connection)',
      multi: true,
      includeAll: true,
    });
  });

  it('splits every metric with a connection label by connection, and filters it by $connection', () => {
    expect(connectionMetrics).toEqual([
      'spillway_sink_batch_size',
      'spillway_sink_entries_total',
      'spillway_sink_lag_seconds',
      'spillway_sink_partitions_owned',
      'spillway_sink_reclaimed_total',
      'spillway_sink_retries_total',
      'spillway_sink_write_duration_seconds',
    ]);
    for (const { panel, expr } of exprs) {
      if (!connectionMetrics.some((metric) => new RegExp(`\\b${metric}(_bucket|_sum|_count)?\\b`).test(expr))) {
        continue;
      }
      // Each database counts every entry it settles: a sum over connections would count an entry once per database.
      const groupings = [...expr.matchAll(/\bby \(([^)]*)\)/g)].map((m) =>
        (m[1] ?? '').split(',').map((l) => l.trim()),
      );
      expect({
        panel,
        expr,
        filtered: expr.includes('connection=~"$connection"'),
        split: groupings.length > 0 && groupings.every((labels) => labels.includes('connection')),
      }).toEqual({ panel, expr, filtered: true, split: true });
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
    expect(scripts['start:sink']).toBe(`node ${flags} ${SINK_NODE_FLAGS.join(' ')} dist/apps/sink/main.js`);
  });

  it("docker compose's sinks run with the sink's flags (the image's NODE_OPTIONS gives the heap flags)", () => {
    const compose = parseYaml(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[] }>;
    };
    const sinks = Object.entries(compose.services).filter(([name]) => name.startsWith('sink'));
    expect(sinks.map(([name]) => name)).toEqual(['sink-1', 'sink-2']);
    for (const [, service] of sinks) {
      expect(service.command).toEqual(['node', ...SINK_NODE_FLAGS, 'dist/apps/sink/main.js']);
    }
  });
});
