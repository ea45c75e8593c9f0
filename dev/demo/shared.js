// Shared by the two demo pages: the walkthrough query and how its answer is shown (denied fields as such).
export const QUERY = '{ me { username email role } user(id: "u2") { username email } product(upc: "p001") { name costPrice } }';

export async function loadConfig() {
  const response = await fetch('config.json');
  return response.json();
}

const FIELDS = [
  ['me.username', ['me', 'username']],
  ['me.email', ['me', 'email']],
  ['me.role', ['me', 'role']],
  ['user(id: "u2").email', ['user', 'email']],
  ['product(upc: "p001").name', ['product', 'name']],
  ['product(upc: "p001").costPrice', ['product', 'costPrice']],
];

const samePath = (a, b) => a.length === b.length && a.every((part, i) => part === b[i]);

/** Renders a GraphQL answer: each field's value, or "denied (CODE)" where an error names its path. */
export function showResult(body) {
  const rows = document.getElementById('fields');
  rows.replaceChildren();
  for (const [label, path] of FIELDS) {
    const error = (body.errors ?? []).find((e) => Array.isArray(e.path) && (samePath(e.path, path) || samePath(e.path, path.slice(0, 1))));
    let value = body.data;
    for (const part of path) value = value == null ? value : value[part];
    const row = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = label;
    const cell = document.createElement('td');
    if (error && value == null) {
      cell.textContent = `denied (${error.extensions?.code ?? 'error'})`;
      cell.className = 'denied';
    } else {
      cell.textContent = value == null ? '—' : String(value);
    }
    row.append(name, cell);
    rows.append(row);
  }
  document.getElementById('raw').textContent = JSON.stringify(body, null, 2);
}

export function say(id, text) {
  document.getElementById(id).textContent = text;
}
