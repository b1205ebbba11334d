import type { Capability, CaseContext, CaseLevel, ConformanceCase, ConformanceConfig, HttpFramework } from '../types';
import { HttpRun, type Framework, type FrameworkFeature } from './http-app';
import { express } from './http-express';
import { fastify } from './http-fastify';

/** Every framework the HTTP cases run through, in the order their cases run. */
export const FRAMEWORKS: Record<HttpFramework, Framework> = { express, fastify };

/** One HTTP case, written once and run through each framework. */
export interface HttpCaseDefinition {
  /** The case id after the framework's prefix (`http-` for express, `fastify-` for fastify). */
  name: string;
  level: CaseLevel;
  needs: Capability[];
  /** What it needs of the framework; through one that lacks it, the case is reported not applicable, saying why. */
  uses?: FrameworkFeature[];
  waits?: boolean;
  /** The rule; per framework where they word it differently. */
  rule: string | Record<HttpFramework, string>;
  run(ctx: CaseContext, http: HttpRun): Promise<void>;
}

/** The cases of `definitions` through each framework: every express case, then every fastify one. */
export function httpCasesOf(definitions: readonly HttpCaseDefinition[]): ConformanceCase[] {
  return Object.values(FRAMEWORKS).flatMap((framework) => definitions.map((definition) => caseThrough(definition, framework)));
}

function caseThrough(definition: HttpCaseDefinition, framework: Framework): ConformanceCase {
  const lacking = definition.uses?.find((feature) => framework.lacks[feature] !== undefined);
  return {
    id: `${framework.idPrefix}${definition.name}`,
    group: 'http',
    framework: framework.name,
    level: definition.level,
    needs: definition.needs,
    rule: typeof definition.rule === 'string' ? definition.rule : definition.rule[framework.name],
    ...(definition.waits && { waits: true }),
    ...(lacking && { notApplicable: `not applicable to ${framework.label}: ${framework.lacks[lacking]}` }),
    async run(ctx) {
      const http = new HttpRun(framework);
      try {
        await definition.run(ctx, http);
      } finally {
        await http.close();
      }
    },
  };
}

/** The frameworks a config runs the HTTP cases through. */
export function frameworksOf(config: Pick<ConformanceConfig, 'http'>): HttpFramework[] {
  if (config.http === false) return [];
  return Array.isArray(config.http) ? [...config.http] : (Object.keys(FRAMEWORKS) as HttpFramework[]);
}

/** Whether the cases through `framework` may be skipped where its packages are missing, rather than fail. */
export function optionalIn(config: Pick<ConformanceConfig, 'http'>, framework: HttpFramework): boolean {
  return !Array.isArray(config.http) && FRAMEWORKS[framework].optional;
}

const missing = new Map<HttpFramework, string[]>();

/** The packages of `framework` that do not resolve from where the cases `require` them. */
export function missingPackages(framework: HttpFramework): string[] {
  let names = missing.get(framework);
  if (!names) {
    names = FRAMEWORKS[framework].packages.filter((name) => {
      try {
        require.resolve(name, { paths: [__dirname] });
        return false;
      } catch {
        return true;
      }
    });
    missing.set(framework, names);
  }
  return names;
}

/** `a, b and c` */
export function listed(names: readonly string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** What the cases through these frameworks need, and of that what cannot be loaded; undefined when everything loads. */
export function missingFor(frameworks: readonly HttpFramework[]): { needed: string[]; unloadable: string[] } | undefined {
  const lacking = frameworks.filter((framework) => missingPackages(framework).length > 0);
  if (lacking.length === 0) return undefined;
  return {
    needed: [...new Set(lacking.flatMap((framework) => FRAMEWORKS[framework].packages))],
    unloadable: [...new Set(lacking.flatMap(missingPackages))],
  };
}

/** The failure of cases through frameworks that must run: what they need, what cannot be loaded, the command that installs it. */
export function missingText(frameworks: readonly HttpFramework[]): string | undefined {
  const missing = missingFor(frameworks);
  if (!missing) return undefined;
  return `the HTTP cases need ${listed(missing.needed)} (${listed(missing.unloadable)} cannot be loaded): npm install --save-dev ${missing.needed.join(' ')}`;
}

/** Why the cases through an optional framework are skipped, or undefined when its packages load. */
export function missingSkip(framework: HttpFramework): string | undefined {
  const missing = missingFor([framework]);
  if (!missing) return undefined;
  return `${listed(missing.unloadable)} cannot be loaded: npm install --save-dev ${missing.needed.join(' ')} runs the cases through ${FRAMEWORKS[framework].label}`;
}
