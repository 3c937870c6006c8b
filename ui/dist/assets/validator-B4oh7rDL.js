import{am as i}from"./index-DUlOeU2n.js";const n=o=>["",...i].includes(o);export{n as i};
