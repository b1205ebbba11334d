/** Browsers in the order a User-Agent must be tried: Edge and Opera also say Chrome, Chrome also says Safari. */
const BROWSERS: Array<[name: string, version: RegExp]> = [
  ['Edge', /\bEdg(?:e|A|iOS)?\/(\d+)/],
  ['Opera', /\bOPR\/(\d+)/],
  ['Firefox', /\b(?:Firefox|FxiOS)\/(\d+)/],
  ['Headless Chrome', /\bHeadlessChrome\/(\d+)/],
  ['Chrome', /\b(?:Chrome|CriOS)\/(\d+)/],
  ['Safari', /\bVersion\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//],
];

/** Systems in the order a User-Agent must be tried: Android also says Linux, iOS also says Mac OS X. */
const SYSTEMS: Array<[name: string, pattern: RegExp]> = [
  ['Android', /\bAndroid\b/],
  ['iOS', /\b(?:iPhone|iPad|iPod)\b/],
  ['ChromeOS', /\bCrOS\b/],
  ['Windows', /\bWindows\b/],
  ['macOS', /\bMac OS X\b/],
  ['Linux', /\bLinux\b/],
];

const MAX_DEVICE_LENGTH = 60;

/** A short name for the device a User-Agent header describes, e.g. `Firefox 128 on Windows`; a tool's own name (`curl/8.5.0`) otherwise. */
export function deviceOf(userAgent: string | undefined): string {
  const agent = (userAgent ?? '').trim();
  if (agent === '') return 'an unnamed device';
  const system = SYSTEMS.find(([, pattern]) => pattern.test(agent))?.[0];
  for (const [name, version] of BROWSERS) {
    const match = agent.match(version);
    if (match) return system === undefined ? `${name} ${match[1]}` : `${name} ${match[1]} on ${system}`;
  }
  const product = agent.split(/\s/)[0];
  return product.length > MAX_DEVICE_LENGTH ? `${product.slice(0, MAX_DEVICE_LENGTH - 1)}…` : product;
}
