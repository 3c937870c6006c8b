import{a0 as i}from"./index-BJ-SgXSA.js";const n=o=>["",...i].includes(o);export{n as i};
