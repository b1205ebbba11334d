import { runConformance } from '../../conformance/jest';
import { backendUrl } from '../../test/support/backends';
import { conformanceOf } from '../../test/support/own-stores';
import { postgresBinDir, startEmbeddedPostgres, type ThrowawayPostgres } from '../../test/support/postgres-servers';
import { postgresFactory } from './fixtures/factory';

const ENABLE_VARIABLE = 'SESSION_STORES_TEST_EMBEDDED_POSTGRES';
const found = backendUrl('postgres');
const localServerAnswered = found !== undefined && /@(127\.0\.0\.1|localhost):5432\//.test(found);
const enabled = process.env[ENABLE_VARIABLE] === '1' || !localServerAnswered;
const binaries = postgresBinDir('embedded');

if (!enabled) {
  describe('PostgresStore conformance through embedded-postgres', () => {
    it.skip(`did not run: a local PostgreSQL answered on 5432 and ran the suite; set ${ENABLE_VARIABLE}=1 to run it through embedded-postgres too`, () => undefined);
  });
} else if (binaries === undefined) {
  describe('PostgresStore conformance through embedded-postgres', () => {
    it.skip(`could not run: embedded-postgres has no binaries for ${process.platform}-${process.arch} here`, () => undefined);
  });
} else {
  describe('PostgresStore conformance through embedded-postgres', () => {
    let server: ThrowawayPostgres | undefined;

    beforeAll(async () => {
      server = await startEmbeddedPostgres();
    }, 60_000);

    afterAll(async () => {
      await server?.destroy();
    }, 30_000);

    const url = () => {
      if (!server) throw new Error('the embedded server did not start');
      return server.url;
    };
    runConformance(conformanceOf(postgresFactory({ name: 'PostgresStore on embedded-postgres', url })));
  });
}
