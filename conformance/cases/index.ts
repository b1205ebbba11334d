import type { ConformanceCase } from '../types';
import { atRestCases } from './at-rest';
import { basicCases } from './basics';
import { bulkCases } from './bulk';
import { callbackCases } from './callbacks';
import { errorCases } from './errors';
import { expiryCases } from './expiry';
import { httpCases } from './http';
import { idCases } from './ids';
import { lifecycleCases } from './lifecycle';
import { storedCases } from './stored';
import { endingCases } from './ending';
import { userCases } from './users';
import { touchCases } from './touch';
import { hardeningCases } from './hardening';

/**
 * Every case of the suite in the order they run: store-level, then HTTP, then errors, which feed the
 * store corrupt data and bad arguments and may leave it in a state no live app would carry on with.
 */
export const cases: readonly ConformanceCase[] = [
  ...basicCases,
  ...expiryCases,
  ...touchCases,
  ...bulkCases,
  ...idCases,
  ...callbackCases,
  ...lifecycleCases,
  ...storedCases,
  ...endingCases,
  ...userCases,
  ...atRestCases,
  ...httpCases,
  ...errorCases,
  ...hardeningCases,
];
