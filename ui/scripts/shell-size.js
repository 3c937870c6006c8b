// What a browser loads for the web app's first screens, from the built files in dist/ (run after `npm run build`):
//   shell  = index.html's entry chunk + the chunks it imports statically (modulepreload) + its CSS
//   login  = shell + the lazily loaded login view with its Element Plus components and CSS
//   home   = shell + the signed-in frame (Shell.vue) + the home view, likewise
// Usage: node scripts/shell-size.js [dist folder]   (sizes in kB = 1000 bytes, as Vite prints them)
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const DIST = process.argv[2] || join(import.meta.dirname, '..', 'dist')
const html = readFileSync(join(DIST, 'index.html'), 'utf8')
const shell = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1])
const entry = shell.find((f) => f.endsWith('.js'))
const code = readFileSync(join(DIST, entry), 'utf8')
const table = JSON.parse(/m\.f=(\[[^\]]*\])/.exec(code)?.[1] || '[]')

// the files a lazily loaded view brings: its chunk and the deps Vite preloads with it
function view(name) {
  const m = new RegExp(`import\\("\\./(${name}-[\\w-]+\\.js)"\\)(?:,__vite__mapDeps\\(\\[([\\d,]*)\\]\\))?`).exec(code)
  if (!m) return []   // not lazy: already in the shell
  return [`assets/${m[1]}`, ...(m[2] ? m[2].split(',').map((i) => table[Number(i)]) : [])]
}

const kB = (files) => [...new Set(files)].reduce((sum, f) => sum + statSync(join(DIST, f)).size, 0) / 1000
const line = (label, files) => {
  const all = [...new Set(files)]
  const js = all.filter((f) => f.endsWith('.js'))
  const css = all.filter((f) => f.endsWith('.css'))
  console.log(`${label.padEnd(6)} ${kB(all).toFixed(1).padStart(8)} kB  (JS ${kB(js).toFixed(1)} kB in ${js.length} files, CSS ${kB(css).toFixed(1)} kB in ${css.length} files)`)
}

line('shell', shell)
line('login', [...shell, ...view('Login')])
line('home', [...shell, ...view('Shell'), ...view('Home')])
