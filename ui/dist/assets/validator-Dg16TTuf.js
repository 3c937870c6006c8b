import{S as i}from"./index-Bw4X-teg.js";const n=o=>["",...i].includes(o);export{n as i};
