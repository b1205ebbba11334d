import { runConformance } from 'session-stores/conformance/jest';
import { MapStore } from './map-store';

runConformance({
  name: 'MapStore',
  makeStore: (options) => new MapStore({ now: options.now, ttl: options.ttl, touchAfter: options.touchAfter, disableTouch: options.disableTouch }),
  clock: 'injectable',
  supports: { namespaces: true, ttl: true, touchAfter: true, disableTouch: true },
});
