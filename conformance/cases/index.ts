import type { ConformanceCase } from '../types';
import { basicCases } from './basics';
import { bulkCases } from './bulk';
import { callbackCases } from './callbacks';
import { errorCases } from './errors';
import { expiryCases } from './expiry';
import { httpCases } from './http';
import { idCases } from './ids';
import { lifecycleCases } from './lifecycle';
import { touchCases } from './touch';

/** Every case of the suite, store-level first and HTTP last, in the order they run. */
export const cases: readonly ConformanceCase[] = [
  ...basicCases,
  ...expiryCases,
  ...touchCases,
  ...bulkCases,
  ...idCases,
  ...errorCases,
  ...callbackCases,
  ...lifecycleCases,
  ...httpCases,
];
