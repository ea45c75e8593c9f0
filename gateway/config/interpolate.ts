/** `${VAR}` and `${VAR:-default}` in gateway.yaml values. */

/** Replaces ${VAR} and ${VAR:-default} in string values (never in keys, never re-parsed as YAML). */
export function interpolate(value: unknown, key: string, env: Readonly<Record<string, string | undefined>>, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push(`${key || 'config'}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolate(item, `${key}[${index}]`, env, problems));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [name, item] of Object.entries(value)) out[name] = interpolate(item, key ? `${key}.${name}` : name, env, problems);
    return out;
  }
  return value;
}
