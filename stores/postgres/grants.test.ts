import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { cases } from '../../conformance/cases';
import { runConformance } from '../../conformance/jest';
import type { ConformanceConfig } from '../../conformance/types';
import { describeBackend } from '../../test/support/backends';
import { baseOptionsOf } from '../../test/support/own-stores';
import { createScratchSchema } from '../../test/support/postgres-servers';
import { PostgresStore } from '.';

/** The GRANT statements of each SQL block of the README's grants section, in order. */
function readmeGrants(): string[][] {
  const readme = fs.readFileSync(path.join(__dirname, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The grants it needs'), readme.indexOf('## Pruning'));
  return [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map(([, block]) => block.trim().split('\n'));
}

const STORE_GROUPS = new Set(['basics', 'touch', 'expiry', 'bulk', 'namespaces']);
const storeCaseIds = new Set(cases.filter((c) => STORE_GROUPS.has(c.group)).map((c) => c.id));

describeBackend('postgres', 'PostgresStore as a role with exactly the grants of its README', (url) => {
  const admin = new Pool({ connectionString: url, max: 2 });
  const [onExistingTable, toCreateTable] = readmeGrants();
  const run = randomBytes(4).toString('hex');
  const roles: string[] = [];
  const pools: Pool[] = [];
  const schemas: Array<{ name: string; drop: () => Promise<void> }> = [];

  async function createRole(): Promise<string> {
    const role = `ss_grants_${run}_${roles.length}`;
    await admin.query(`CREATE ROLE ${role}`);
    roles.push(role);
    return role;
  }

  /** Runs the README's `grants` with its names (schema app, table express_sessions, role sessions) replaced by the test's. */
  async function grant(grants: string[], schema: string, table: string, role: string): Promise<void> {
    for (const statement of grants) {
      await admin.query(
        statement
          .replace(/ SCHEMA app /, ` SCHEMA "${schema}" `)
          .replace(/ app\.express_sessions /, ` "${schema}"."${table}" `)
          .replace(/ TO sessions;$/, ` TO ${role};`),
      );
    }
  }

  /** A pool whose connections act as `role`. */
  function poolAs(role: string): Pool {
    const pool = new Pool({ connectionString: url, max: 4, options: `-c role=${role}` });
    pools.push(pool);
    return pool;
  }

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    for (const schema of schemas) await schema.drop();
    for (const role of roles) {
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
    }
    await admin.end();
  });

  const config = (name: string, makeStore: ConformanceConfig['makeStore']): ConformanceConfig => ({
    name,
    makeStore,
    clock: 'injectable',
    supports: { namespaces: true, ttl: true, ttlFunction: true, touchAfter: true, disableTouch: true },
    methods: ['all', 'ids', 'length', 'clear', 'touch', 'close', 'prune'],
    http: false,
    strict: true,
    filter: (id) => storeCaseIds.has(id),
  });

  describe('on tables created beforehand', () => {
    let pool: Pool;
    let schemaName: string;
    let role: string;
    const created = new Map<string, Promise<void>>();
    /** Creates a namespace's table from schema.sql as the administrator and grants the role what the README says on it. */
    const tableFor = (namespace: string | undefined): Promise<string> => {
      const table = `ns_${namespace ?? 'default'}`;
      if (!created.has(table)) {
        const ddl = fs.readFileSync(path.join(__dirname, 'schema.sql'), 'utf8').replace(/express_sessions/g, table);
        created.set(table, (async () => {
          await admin.query(`SET search_path TO "${schemaName}"; ${ddl}; RESET search_path`);
          await grant(onExistingTable, schemaName, table, role);
        })());
      }
      return created.get(table)!.then(() => table);
    };
    beforeAll(async () => {
      const schema = await createScratchSchema(admin, 'grants');
      schemas.push(schema);
      schemaName = schema.name;
      role = await createRole();
      pool = poolAs(role);
    });
    runConformance(
      config(
        'PostgresStore',
        async (options) => new PostgresStore({ pool, schemaName, tableName: await tableFor(options.namespace), createTable: false, pruneInterval: 0, ...baseOptionsOf(options) }),
      ),
    );
  });

  describe('creating its own tables', () => {
    let pool: Pool;
    let schemaName: string;
    beforeAll(async () => {
      const schema = await createScratchSchema(admin, 'grants');
      schemas.push(schema);
      schemaName = schema.name;
      const role = await createRole();
      await grant(toCreateTable, schemaName, 'express_sessions', role);
      pool = poolAs(role);
    });
    runConformance(
      config(
        'PostgresStore',
        (options) => new PostgresStore({ pool, schemaName, tableName: `ns_${options.namespace ?? 'default'}`, pruneInterval: 0, ...baseOptionsOf(options) }),
      ),
    );
  });
});
